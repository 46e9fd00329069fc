"""Preparing a sparse fine-tuning run: a pre-trained model with a head for the new task,
and the masks calibrated on it.

Step 0 fits a new head on the backbone's frozen features (ridge regression or a trained
softmax layer); then the masks are calibrated in rounds (`calibration.calibrate_masks`)
on calibration examples, centrally or by the clients of a partition (`federated_fisher`).
The folder gets the start weights (`init.weights.h5`, for `train.init_weights`), the
masks (`masks.npz`, for `train.masks`), `prepare.json` (settings, densities per round and
variable, head accuracy, times, versions) and `mask-density.png`. Re-running with the same
settings returns what is there; other settings in the same folder are refused.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from typing import Dict, List, Optional, Sequence

import numpy as np

from tff_course.atomic import atomic_path, write_text
from tff_course.errors import ConfigError
from tff_course.sparse.calibration import SENSITIVITY_RULES, CalibrationSettings
from tff_course.sparse.fisher import OBJECTIVES, TARGETS
from tff_course.sparse.head import HEAD_METHODS

INIT_WEIGHTS = "init.weights.h5"
MASKS = "masks.npz"
SUMMARY = "prepare.json"
DENSITY_FIGURE = "mask-density.png"
RUN_MODELS = {"resnet20_cifar10": "resnet20_cifar", "dino_vits16": "vit_small"}


@dataclasses.dataclass(frozen=True)
class PrepareSettings:
  """What `prepare` builds; checked on creation. `limit`: at most this many examples of
  each split (None: all of them)."""

  pretrained: str = "resnet20_cifar10"
  dataset: str = "fashion_mnist_rgb32"
  head: str = "train"
  head_examples: int = 5000
  density: float = 0.1
  rounds: int = 4
  rule: str = "least_sensitive"
  scope: str = "global"
  norms: bool = True
  biases: bool = True
  calibration_examples: int = 512
  targets: str = "sampled"
  objective: str = "log_prob"
  fisher_batch: int = 16
  seed: int = 0
  limit: Optional[int] = None

  def __post_init__(self):
    self.calibration()
    if self.pretrained not in RUN_MODELS:
      raise ConfigError(f"pretrained: got {self.pretrained!r}, expected one of "
                        f"{', '.join(RUN_MODELS)}")
    if self.head not in HEAD_METHODS:
      raise ConfigError(f"head: got {self.head!r}, expected one of {', '.join(HEAD_METHODS)}")
    if self.targets not in TARGETS:
      raise ConfigError(f"targets: got {self.targets!r}, expected one of {', '.join(TARGETS)}")
    if self.objective not in OBJECTIVES:
      raise ConfigError(f"objective: got {self.objective!r}, expected one of "
                        f"{', '.join(OBJECTIVES)}")
    for name in ("head_examples", "calibration_examples", "fisher_batch"):
      value = getattr(self, name)
      if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{name}: got {value!r}, expected a whole number >= 1")
    if self.limit is not None and (isinstance(self.limit, bool) or
                                   not isinstance(self.limit, int) or self.limit < 1):
      raise ConfigError(f"limit: got {self.limit!r}, expected a whole number >= 1 (examples "
                        "per split) or none")

  def calibration(self) -> CalibrationSettings:
    return CalibrationSettings(self.density, self.rounds, self.rule, self.scope)

  @property
  def run_model(self) -> str:
    """The model name runs build (tff_course.models) for this backbone."""
    return RUN_MODELS[self.pretrained]


def prepare(settings: PrepareSettings, out_dir: str, *, data_dir: Optional[str] = None,
            weights: Optional[str] = None,
            client_indices: Optional[Sequence[np.ndarray]] = None,
            head_cache: Optional[str] = None, progress: bool = True) -> Dict:
  """Writes the start weights, masks, summary and figure into `out_dir`; returns the
  summary. With `client_indices` (each client's training-example indices) the masks are
  calibrated by those clients (federated); else on the first `calibration_examples`
  training examples after the head's (central). With `head_cache` (a folder), a head
  fitted before with the same backbone, task, method, examples and seed is reused.

  Raises:
    ConfigError: `out_dir` holds a preparation of other settings.
  """
  summary_path = os.path.join(out_dir, SUMMARY)
  recorded = _recorded(summary_path, settings, client_indices)
  if recorded is not None:
    return recorded
  from tff_course.checkpoints.pretrained import load_pretrained
  from tff_course.data import load_dataset
  from tff_course.sparse.calibration import calibrate_masks, eligible_keys
  from tff_course.sparse.head import with_new_head
  from tff_course.sparse.mask_set import density, save_masks
  from tff_course.versions import environment_versions

  started = time.perf_counter()
  dataset = load_dataset(settings.dataset, data_dir=data_dir, limit=settings.limit)
  train, test = dataset.train, dataset.test
  image_size = int(train.x.shape[1])
  model = with_new_head(load_pretrained(settings.pretrained, weights=weights,
                                        data_dir=data_dir, image_size=image_size),
                        dataset.num_classes, seed=settings.seed)
  head_accuracy, head_cached = _head(settings, model, dataset, head_cache, weights)
  head_seconds = time.perf_counter() - started
  eligible = eligible_keys(model, norms=settings.norms, biases=settings.biases)
  sensitivity = _sensitivity(settings, model, dataset, eligible, client_indices, progress)
  history: List[Dict] = []

  def on_round(round_index, masks):
    history.append({"round": round_index,
                    "density": density({key: masks[key] for key in eligible}),
                    "seconds": time.perf_counter() - started})

  masks = calibrate_masks(model, settings.calibration(), eligible, sensitivity,
                          seed=settings.seed, on_round=on_round)
  os.makedirs(out_dir, exist_ok=True)
  with atomic_path(os.path.join(out_dir, INIT_WEIGHTS)) as temp:
    model.save_weights(temp)
  save_masks(os.path.join(out_dir, MASKS), masks)
  summary = {
      "settings": dataclasses.asdict(settings),
      "calibration": "federated" if client_indices is not None else "central",
      "clients": None if client_indices is None else len(client_indices),
      "run_model": settings.run_model, "num_classes": dataset.num_classes,
      "input_shape": list(train.x.shape[1:]),
      "head_test_accuracy": head_accuracy, "test_examples": len(test),
      "head_seconds": head_seconds, "head_cached": head_cached, "rounds": history,
      "variables": {key: {"size": int(mask.size), "density": float(mask.mean())}
                    for key, mask in masks.items()},
      "eligible": list(eligible),
      "seconds": time.perf_counter() - started, "versions": environment_versions()}
  density_figure(summary, os.path.join(out_dir, DENSITY_FIGURE))
  write_text(summary_path, json.dumps(summary, indent=2) + "\n")
  return summary


def head_key(settings: PrepareSettings, weights: Optional[str]) -> str:
  """What a fitted head depends on, as a file name."""
  source = "" if weights is None else "-" + os.path.basename(weights).replace(".", "_")
  limit = "" if settings.limit is None else f"-l{settings.limit}"
  return (f"{settings.pretrained}{source}-{settings.dataset}-{settings.head}-"
          f"{settings.head_examples}-s{settings.seed}{limit}")


def _head(settings: PrepareSettings, model, dataset, head_cache: Optional[str],
          weights: Optional[str]) -> tuple:
  """Fits `model`'s head, or loads it from `head_cache`; (its test accuracy, cached)."""
  from tff_course.data.pipeline import model_inputs
  from tff_course.sparse.finetune import accuracy
  from tff_course.sparse.head import fit_head

  if head_cache is not None:
    stem = os.path.join(head_cache, head_key(settings, weights))
    if os.path.isfile(stem + ".json") and os.path.isfile(stem + ".weights.h5"):
      model.load_weights(stem + ".weights.h5")
      with open(stem + ".json", encoding="utf-8") as stream:
        return json.load(stream)["head_test_accuracy"], True
  train, test = dataset.train, dataset.test
  rows = slice(0, min(settings.head_examples, len(train)))
  fit_head(model, model_inputs(train.x[rows], dataset.modality), train.y[rows],
           method=settings.head, seed=settings.seed)
  head_accuracy = accuracy(model, model_inputs(test.x, dataset.modality), test.y)
  if head_cache is not None:
    os.makedirs(head_cache, exist_ok=True)
    with atomic_path(stem + ".weights.h5") as temp:
      model.save_weights(temp)
    write_text(stem + ".json", json.dumps({"head_test_accuracy": head_accuracy}) + "\n")
  return head_accuracy, False


def _recorded(path: str, settings: PrepareSettings, client_indices) -> Optional[Dict]:
  if not os.path.isfile(path):
    return None
  with open(path, encoding="utf-8") as stream:
    summary = json.load(stream)
  calibration = "federated" if client_indices is not None else "central"
  if summary.get("settings") != dataclasses.asdict(settings) or (
      summary.get("calibration") != calibration):
    raise ConfigError(f"{os.path.dirname(path) or '.'}: holds a preparation of other "
                      f"settings ({path}); use another --out or remove it")
  return summary


def _sensitivity(settings: PrepareSettings, model, dataset, eligible, client_indices,
                 progress: bool):
  if settings.rule not in SENSITIVITY_RULES:
    return None
  from tff_course.data.pipeline import model_inputs

  options = dict(targets=settings.targets, objective=settings.objective, seed=settings.seed)
  train = dataset.train
  if client_indices is None:
    from tff_course.sparse.fisher import fisher_sensitivity

    start = min(settings.head_examples, len(train) - settings.calibration_examples)
    rows = slice(max(start, 0), max(start, 0) + settings.calibration_examples)
    return fisher_sensitivity(model_inputs(train.x[rows], dataset.modality), train.y[rows],
                              eligible, batch_size=settings.fisher_batch, progress=progress,
                              **options)
  import tensorflow as tf

  from tff_course.algorithms.model_fn import keras_model_fn
  from tff_course.models import build_model
  from tff_course.sparse.federated_fisher import federated_sensitivity

  per_client = max(1, -(-settings.calibration_examples // len(client_indices)))
  datasets = [tf.data.Dataset.from_tensor_slices(
      (model_inputs(train.x[indices[:per_client]], dataset.modality),
       train.y[indices[:per_client]])
  ).batch(settings.fisher_batch) for indices in client_indices]
  shape = tuple(train.x.shape[1:])

  def build():
    return build_model(settings.run_model, shape, dataset.num_classes)

  return federated_sensitivity(keras_model_fn(build, datasets[0].element_spec), model,
                               eligible, datasets, **options)


def density_figure(summary: Dict, path: str) -> None:
  """Bars of each eligible variable's mask density (the share of its entries opened)."""
  import matplotlib

  matplotlib.use("Agg")
  import matplotlib.pyplot as plt

  keys = summary["eligible"]
  densities = [summary["variables"][key]["density"] for key in keys]
  figure, axis = plt.subplots(figsize=(max(6.0, 0.18 * len(keys)), 3.6))
  axis.bar(range(len(keys)), densities, color="tab:blue")
  axis.axhline(summary["settings"]["density"], color="black", linestyle="--",
               label=f"target {summary['settings']['density']:g}")
  axis.set_xticks(range(len(keys)))
  axis.set_xticklabels(keys, rotation=90, fontsize=6)
  axis.set_ylabel("share of entries that may update")
  settings = summary["settings"]
  axis.set_title(f"{settings['rule']} masks, {settings['scope']}, {settings['rounds']} "
                 f"rounds ({summary['calibration']})", fontsize=9)
  axis.legend(fontsize=8)
  figure.tight_layout()
  with atomic_path(path) as temp:
    figure.savefig(temp, dpi=120)
  plt.close(figure)

