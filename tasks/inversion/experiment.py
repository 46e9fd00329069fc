"""One inversion experiment end to end: a model at its seeded initialisation, a client's
shared gradient (one example, a batch, or its FedSGD step), a defense, an attack, the
metrics; and its output directory (config, versions, metrics, figures)."""

from __future__ import annotations

import dataclasses
import functools
import json
import os
from typing import Dict, Optional, Tuple

import numpy as np

from tasks.inversion.attacks import AttackConfig, AttackResult, Status, run_attack
from tasks.inversion.checks import check_positive_int
from tasks.inversion.defenses import check_defense, defense_method, gradient_change
from tasks.inversion.figures import progress_grid, side_by_side
from tasks.inversion.metrics import match_order, reconstruction_metrics
from tff_course.atomic import write_text
from tff_course.errors import ConfigError, DataError

SOURCES = ("example", "fedsgd")
DATASET = "cifar10"
OUTPUT_FILES = ("config.json", "versions.json", "metrics.json", "progress.png",
                "comparison.png", "recovered.npy")


@dataclasses.dataclass(frozen=True)
class InversionConfig:
  """An experiment: what is attacked, how it is defended, and the attack.

  Attributes:
    model: a `tff_course.models` name (dlg_lenet is DLG's network).
    image_indices: CIFAR-10 training images forming the client's batch.
    source: "example" (the gradient of the mean loss on the batch) or "fedsgd" (the
      client's gradient as the runner's FedSGD client work computes it).
    defense, strength: see `defenses.defense_method`.
    seed: seeds the model's initialisation, the defense and the dummy data.
  """

  attack: AttackConfig = AttackConfig()
  model: str = "dlg_lenet"
  image_indices: Tuple[int, ...] = (0,)
  source: str = "example"
  defense: str = "none"
  strength: float = 0.0
  seed: int = 0

  def __post_init__(self):
    if self.source not in SOURCES:
      raise ConfigError(f"source: got {self.source!r}, expected one of {', '.join(SOURCES)}")
    if not self.image_indices:
      raise ConfigError("image_indices: got none, expected at least one image index")
    for index in self.image_indices:
      check_positive_int("image index", index, 0)
    check_defense(self.defense, self.strength)
    check_positive_int("seed", self.seed, 0)

  def to_dict(self) -> Dict:
    return dataclasses.asdict(self)


@functools.lru_cache(maxsize=2)
def cifar10(data_dir: Optional[str]):
  """CIFAR-10 (loaded once per data directory)."""
  from tff_course.data import load_dataset

  return load_dataset(DATASET, data_dir=data_dir)


def load_images(indices, data_dir: Optional[str]):
  """(stored uint8 images, float images in [0, 1], labels) of CIFAR-10 training images."""
  train = cifar10(data_dir).train
  for index in indices:
    if index >= len(train):
      raise DataError(f"image index: got {index}, expected 0..{len(train) - 1} "
                      f"({DATASET} has {len(train)} training images)")
  stored = train.x[list(indices)]
  return stored, stored.astype(np.float32) / np.float32(255), train.y[list(indices)]


def build_attacked_model(name: str, seed: int, input_shape=(32, 32, 3), num_classes=10):
  """The named model at the initialisation `seed` gives (as the runner draws it)."""
  import tensorflow as tf

  from tff_course.models import build_model

  tf.keras.utils.set_random_seed(seed)
  return build_model(name, input_shape, num_classes)


def client_gradient(config: InversionConfig, model, stored, images, labels):
  """The gradient the client shares, before any defense."""
  from tasks.inversion.shared import fedsgd_client_gradient, shared_gradient

  if config.source == "fedsgd":
    return fedsgd_client_gradient(
        lambda: build_attacked_model(config.model, config.seed),
        [v.numpy() for v in model.trainable_variables], stored, labels)
  return shared_gradient(model, images, labels)


def run_inversion(config: InversionConfig, data_dir: Optional[str] = None, *,
                  images=None, labels=None, stored=None) -> Tuple[AttackResult, Dict, np.ndarray]:
  """Runs the experiment; returns (attack result, metrics, original images).

  `images` and `labels` replace the CIFAR-10 images (then `stored` = uint8 images
  is needed only for the fedsgd source)."""
  if images is None:
    stored, images, labels = load_images(config.image_indices, data_dir)
  model = build_attacked_model(config.model, config.seed)
  gradient = client_gradient(config, model, stored, images, labels)
  defended = defense_method(gradient, config.defense, config.strength, config.seed)
  result = run_attack(model, defended, len(images), config.attack)
  metrics = reconstruction_metrics(images, labels, result.images, result.labels)
  metrics.update(status=result.status.value, message=result.message, steps=result.steps,
                 evaluations=result.evaluations, seconds=result.seconds,
                 final_objective=result.objective,
                 attempts=[attempt.to_dict() for attempt in result.attempts],
                 kept_attempt=result.kept, gradient=gradient_change(gradient, defended))
  return result, metrics, images


def write_outputs(out_dir: str, config: InversionConfig, result: AttackResult,
                  metrics: Dict, originals) -> Dict[str, str]:
  """Writes OUTPUT_FILES into `out_dir` in their order, recovered.npy last; returns their
  paths by name."""
  from tff_course.atomic import atomic_path
  from tff_course.versions import environment_versions

  os.makedirs(out_dir, exist_ok=True)
  paths = {name: os.path.join(out_dir, name) for name in OUTPUT_FILES}
  write_text(paths["config.json"], json.dumps(config.to_dict(), indent=2) + "\n")
  write_text(paths["versions.json"], json.dumps(environment_versions(), indent=2) + "\n")
  write_text(paths["metrics.json"], json.dumps(metrics, indent=2) + "\n")
  progress_grid(result.snapshots, paths["progress.png"],
                title=f"{config.attack.attack} on {config.model}, defense {config.defense}"
                      f" {config.strength:g}")
  side_by_side(originals, result.images, match_order(originals, result.images),
               metrics["images"], paths["comparison.png"])
  with atomic_path(paths["recovered.npy"]) as temp:
    np.save(temp, result.images)
  return paths


def summary_line(metrics: Dict) -> str:
  """One line for the terminal."""
  mean = metrics["mean"]
  attempts = len(metrics["attempts"])
  line = (f"MSE {mean['mse']:.3g}, PSNR {mean['psnr']:.1f} dB, SSIM {mean['ssim']:.3f}, "
          f"labels recovered {mean['label_recovered']:.0%}, after {metrics['steps']} "
          f"steps ({metrics['evaluations']} evaluations, {metrics['seconds']:.1f} s"
          f"{f', {attempts} attempts' if attempts > 1 else ''})")
  quiet = metrics["status"] == Status.FINISHED.value and attempts == 1
  return line if quiet else f"{line}; {metrics['message']}"
