"""The course's diffusion experiments on the small model, with a report: the class
accuracy of its samples, DreamBooth (subject fidelity, and prior preservation against
language drift) and prompt-to-prompt (word swaps with and without attention injection),
judged by an independent classifier the toolkit trains on the same dataset."""

from __future__ import annotations

import dataclasses
import json
import math
import os
from typing import Dict, Optional, Sequence

import numpy as np

from tasks.diffusion.captions import (CAPTION_TEMPLATE, class_words, diffusion_split,
                                      load_diffusion_dataset)
from tasks.diffusion.course_dreambooth import dreambooth_experiment
from tasks.diffusion.course_edits import save_sweep_plot, setting_summary, swap_sweep
from tasks.diffusion.course_report import course_report
from tasks.diffusion.dreambooth import DreamBoothConfig, sample_grid
from tasks.diffusion.grids import save_labeled_grid
from tasks.diffusion.image_metrics import class_accuracy
from tasks.diffusion.judge import Judge, train_judge
from tasks.diffusion.prompt_to_prompt import edit_controller
from tasks.diffusion.small_model import load_small_model
from tff_course.atomic import write_text
from tff_course.errors import ConfigError
from tff_course.partition.partition import require_positive
from tff_course.versions import environment_versions

JUDGE_DIR = "judge"
EXPERIMENTS = ("samples", "dreambooth", "p2p")


@dataclasses.dataclass(frozen=True)
class CourseConfig:
  """Sizes of the course's diffusion experiments.

  Attributes:
    samples_per_class: samples per class prompt for the class-accuracy check.
    subject_class: the DreamBooth subject's class word.
    subject_index: which test image of that class is the subject.
    instance_images: views of the subject (the image, flipped, shifted by a pixel).
    class_images: class images for prior preservation.
    dreambooth_steps: fine-tuning steps of each DreamBooth run.
    dreambooth_learning_rate: their learning rate.
    train_text_encoder: whether DreamBooth fine-tunes the text encoder too.
    evaluation_samples: samples per prompt when measuring DreamBooth.
    swaps: word swaps (class word A, class word B) for prompt-to-prompt.
    edit_seeds: seeds per swap.
    tau_cross: fraction of the steps with the source's cross-attention maps.
    tau_self_sweep: fractions of the steps with the source's self-attention, each tried.
    tau_self: the one of them the prompt-to-prompt verdict is given for.
    steps: DDIM steps everywhere.
    guidance: classifier-free guidance scale everywhere.
    judge_epochs: the judge's training epochs.
    judge_limit: train the judge on at most this many images (None: all).
    seed: everything else.
  """

  samples_per_class: int = 20
  subject_class: str = "bag"
  subject_index: int = 0
  instance_images: int = 5
  class_images: int = 100
  dreambooth_steps: int = 300
  dreambooth_learning_rate: float = 3e-4
  train_text_encoder: bool = True
  evaluation_samples: int = 32
  swaps: Sequence[Sequence[str]] = (("sneaker", "sandal"), ("pullover", "coat"),
                                    ("shirt", "dress"))
  edit_seeds: int = 8
  tau_cross: float = 0.8
  tau_self_sweep: Sequence[float] = (0.0, 0.25, 0.5, 0.75, 1.0)
  tau_self: float = 0.5
  steps: int = 50
  guidance: float = 3.0
  judge_epochs: int = 3
  judge_limit: Optional[int] = None
  seed: int = 0

  def __post_init__(self):
    for name in ("samples_per_class", "instance_images", "dreambooth_steps",
                 "evaluation_samples", "edit_seeds", "steps", "judge_epochs"):
      require_positive(name, getattr(self, name))
    for name, value in [("tau_cross", self.tau_cross), ("tau_self", self.tau_self)] + [
        ("tau_self_sweep", tau) for tau in self.tau_self_sweep]:
      if not 0.0 <= value <= 1.0:
        raise ConfigError(f"{name}: got {value}, expected a fraction in [0, 1]")
    if not any(math.isclose(self.tau_self, tau) for tau in self.tau_self_sweep):
      raise ConfigError(f"tau_self: got {self.tau_self}, expected one of tau_self_sweep "
                        f"{list(self.tau_self_sweep)}")

  def dreambooth(self, instance_prompt: str, class_prompt: str,
                 prior_weight: float = 1.0) -> DreamBoothConfig:
    """The course's DreamBooth run: its steps, learning rate and text-encoder setting,
    its class images (none without prior preservation), seed and sampling."""
    return DreamBoothConfig(
        instance_prompt, class_prompt, class_images=self.class_images if prior_weight else 0,
        prior_weight=prior_weight, steps=self.dreambooth_steps,
        learning_rate=self.dreambooth_learning_rate,
        train_text_encoder=self.train_text_encoder, seed=self.seed,
        sample_steps=self.steps, guidance=self.guidance)


def subject_views(image: np.ndarray, count: int) -> np.ndarray:
  """`count` views of one image: itself, mirrored, and shifted by one pixel (right, left,
  down, up), the background filling in."""
  views = [image, image[:, ::-1]]
  for axis, shift in ((1, 1), (1, -1), (0, 1), (0, -1)):
    moved = np.roll(image, shift, axis=axis)
    edge = 0 if shift > 0 else -1
    index = [slice(None)] * 3
    index[axis] = edge
    moved[tuple(index)] = 0
    views.append(moved)
  return np.stack(views[:count])


def judge_for(out: str, dataset: str, data_dir: Optional[str], config: CourseConfig):
  """The judge cached in OUT/judge, trained there first when missing.

  Raises:
    ConfigError: the cached judge was trained with another seed or epoch count.
  """
  folder = os.path.join(out, JUDGE_DIR)
  if os.path.isdir(folder):
    judge = Judge.load(folder)
    if (judge.seed, judge.epochs) != (config.seed, config.judge_epochs):
      raise ConfigError(f"{folder}: a judge trained with seed {judge.seed} for "
                        f"{judge.epochs} epochs, expected seed {config.seed} and "
                        f"{config.judge_epochs} epochs; remove the folder to train it again")
    return judge
  judge = train_judge(dataset, data_dir, seed=config.seed, epochs=config.judge_epochs,
                      limit=config.judge_limit)
  judge.save(folder)
  return judge


def class_prompt_accuracy(model, judge, words: Sequence[str], config: CourseConfig,
                          out: str) -> Dict[str, float]:
  """Of `samples_per_class` samples of "a photo of a {class}", the fraction the judge
  assigns to that class, per class; writes OUT/samples.png (a row per class)."""
  prompts = [CAPTION_TEMPLATE.format(word) for word in words]
  grid = sample_grid(model, prompts, config.samples_per_class, seed=config.seed,
                     steps=config.steps, guidance=config.guidance)
  save_labeled_grid(os.path.join(out, "samples.png"),
                    grid[:, :10].reshape((-1,) + grid.shape[2:]), row_labels=prompts)
  return {word: class_accuracy(judge, grid[row], row) for row, word in enumerate(words)}


def run_course(out: str, model_dir: str, config: CourseConfig = CourseConfig(), *,
               experiments: Sequence[str] = EXPERIMENTS, data_dir: Optional[str] = None,
               vocabulary=None, model=None, progress: bool = True) -> str:
  """Runs the chosen EXPERIMENTS (the class accuracy of samples, DreamBooth,
  prompt-to-prompt) on the pretrained small model in MODEL_DIR, each unless OUT's
  results.json has it from an earlier run with the same settings; writes OUT/report.md,
  results.json, config.json, versions.json and the figures; returns the report's path.
  `model` is MODEL_DIR's model when already loaded (None: loaded here); it ends with the
  weights it had.

  Raises:
    ConfigError: an unknown experiment, or OUT holding a course run of another config.
  """
  unknown = sorted(set(experiments) - set(EXPERIMENTS))
  if unknown or not experiments:
    raise ConfigError(f"experiments: got {list(experiments)}, expected some of "
                      f"{', '.join(EXPERIMENTS)}")
  settings = json.loads(json.dumps(dict(dataclasses.asdict(config), model=model_dir)))
  results = _earlier_results(out, settings)
  os.makedirs(out, exist_ok=True)
  write_text(os.path.join(out, "config.json"), json.dumps(settings, indent=2))
  write_text(os.path.join(out, "versions.json"), json.dumps(environment_versions(), indent=2))
  if model is None:
    model = load_small_model(model_dir, vocabulary=vocabulary)[0]
  dataset_name = "cifar10" if model.image_shape[-1] == 3 else "fashion_mnist"
  dataset = load_diffusion_dataset(dataset_name, data_dir)
  words = class_words(dataset)
  for source_word, target_word in config.swaps:
    edit_controller(model, CAPTION_TEMPLATE.format(source_word),
                    CAPTION_TEMPLATE.format(target_word), kind="swap")
  judge = judge_for(out, dataset_name, data_dir, config)
  results["judge_test_accuracy"] = judge.test_accuracy
  if "samples" in experiments and "class_accuracy" not in results:
    results["class_accuracy"] = class_prompt_accuracy(model, judge, words, config, out)
    _write_results(out, results)
  if "dreambooth" in experiments and "dreambooth" not in results:
    test_images, test_labels = diffusion_split(dataset, "test")
    subject = test_images[np.flatnonzero(test_labels == judge.label_index(
        config.subject_class))[config.subject_index]]
    results["dreambooth"] = dreambooth_experiment(
        model, judge, subject_views(subject, config.instance_images), config.subject_class,
        config, os.path.join(out, "dreambooth"), progress=progress)
    _write_results(out, results)
  if "p2p" in experiments and "prompt_to_prompt" not in results:
    results["prompt_to_prompt"] = prompt_to_prompt_experiment(
        model, judge, config, os.path.join(out, "p2p"), progress=progress)
    _write_results(out, results)
  path = os.path.join(out, "report.md")
  write_text(path, course_report(results, config))
  return path


def _earlier_results(out: str, settings: Dict[str, object]) -> Dict[str, object]:
  """OUT/results.json of an earlier course run with the same settings ({} when none)."""
  config_path, results_path = (os.path.join(out, name)
                               for name in ("config.json", "results.json"))
  if not os.path.isfile(config_path):
    return {}
  with open(config_path) as stream:
    earlier = json.load(stream)
  if earlier != settings:
    changed = sorted(key for key in set(earlier) | set(settings)
                     if earlier.get(key) != settings.get(key))
    raise ConfigError(f"--out: {out} holds a course run with other settings "
                      f"({', '.join(changed)}); expected the same settings, or another --out")
  if not os.path.isfile(results_path):
    return {}
  with open(results_path) as stream:
    return json.load(stream)


def _write_results(out: str, results: Dict[str, object]) -> None:
  write_text(os.path.join(out, "results.json"), json.dumps(results, indent=2))


def prompt_to_prompt_experiment(model, judge, config: CourseConfig, out: str, *,
                                progress: bool = True) -> Dict[str, object]:
  """`swap_sweep` over the config's swaps, seeds and tau_self values, its per-setting
  summary, and OUT/sweep.png."""
  seeds = list(range(config.seed, config.seed + config.edit_seeds))
  rows = swap_sweep(model, judge, config.swaps, seeds, config.tau_cross,
                    config.tau_self_sweep, steps=config.steps, guidance=config.guidance,
                    out=out, progress=progress)
  summary = setting_summary(rows)
  save_sweep_plot(summary, os.path.join(out, "sweep.png"), tau_cross=config.tau_cross)
  return {"summary": summary, "edits": rows}
