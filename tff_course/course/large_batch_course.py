"""Accuracy against batch size, 128 to 4,096, at the same number of epochs: SGD with the
linear and the square-root scaling rule, LARS and LAMB, all warmed up and decayed."""

from __future__ import annotations

from typing import Dict, List, Tuple

import numpy as np

from tff_course.course import markdown
from tff_course.course.arms import Arm
from tff_course.course.experiment import CourseExperiment
from tff_course.course.figures import new_figure, saved_image
from tff_course.course.large_batch_runs import run_large_batch
from tff_course.course.questions import MEASURED, Answer, difference_standard_error, plus_minus
from tff_course.course.results import Results
from tff_course.course.seed_groups import accuracy_cell, by_group, group_accuracy, seed_key
from tff_course.course.settings import FULL

BATCH_SIZES = (128, 1024, 4096)
FULL_BATCH_SIZES = (128, 256, 512, 1024, 2048, 4096)
BASE_BATCH = 128
RECIPES: Dict[str, Tuple[str, str, float]] = {
    "sgd-linear": ("sgd", "linear", 0.05),
    "sgd-sqrt": ("sgd", "sqrt", 0.05),
    "lars": ("lars", "linear", 0.3),
    "lamb": ("lamb", "sqrt", 0.002),
}
LABELS = {"sgd-linear": "SGD, linear scaling", "sgd-sqrt": "SGD, square-root scaling",
          "lars": "LARS, linear scaling", "lamb": "LAMB, square-root scaling"}
EPOCHS = 3
FULL_EPOCHS = 30
SEEDS = (0,)
FULL_SEEDS = (0, 1, 2)
WARMUP = 0.1
WEIGHT_DECAY = 5e-4
COMMON = {"dataset": "cifar10", "model": "cifar_convnet", "base_batch_size": BASE_BATCH,
          "warmup": WARMUP, "weight_decay": WEIGHT_DECAY}


def group_name(recipe: str, batch: int) -> str:
  return f"{recipe}-b{batch}"


def arms(setting: str) -> List[Arm]:
  full = setting == FULL
  planned = []
  for seed in FULL_SEEDS if full else SEEDS:
    for recipe, (optimizer, rule, base_lr) in RECIPES.items():
      for batch in FULL_BATCH_SIZES if full else BATCH_SIZES:
        settings = {**COMMON, "seed": seed, "optimizer": optimizer, "rule": rule,
                    "base_lr": base_lr, "batch_size": batch,
                    "rounds": FULL_EPOCHS if full else EPOCHS}
        planned.append(Arm(seed_key(group_name(recipe, batch), seed),
                           f"{LABELS[recipe]}, B = {batch}, seed {seed}", settings=settings,
                           run_outside=run_large_batch))
  return planned


def batches_run(results: Results) -> List[int]:
  """The batch sizes that have arms in `results`, ascending."""
  return sorted({int(group.rsplit("-b", 1)[1]) for group in by_group(results)})


def _grid(results: Results) -> Dict[Tuple[str, int], Tuple[float, float]]:
  """(recipe, batch) -> mean final test accuracy and its standard error."""
  grid = {}
  for group, keys in by_group(results).items():
    recipe, batch = group.rsplit("-b", 1)
    grid[(recipe, int(batch))] = group_accuracy(results, keys)
  return grid


def _figure(results: Results, grid) -> str:
  figure, axis = new_figure()
  batches = batches_run(results)
  for recipe in RECIPES:
    axis.errorbar(batches, [100 * grid[(recipe, b)][0] for b in batches],
                  yerr=[100 * np.nan_to_num(grid[(recipe, b)][1]) for b in batches],
                  marker="o", capsize=3, label=LABELS[recipe])
  axis.set_xscale("log", base=2)
  axis.set_xticks(batches, [str(b) for b in batches])
  axis.set_xlabel("batch size (same epochs: fewer steps as it grows)")
  axis.set_ylabel("final test accuracy (%)")
  axis.set_title("Large-batch training of the course CNN on CIFAR-10", fontsize=9)
  axis.legend(fontsize=8)
  figure.tight_layout()
  return saved_image(results, figure, "accuracy-by-batch.png",
                     "final test accuracy against batch size, one line per recipe")


def peak_rate(recipe: str, batch: int) -> float:
  """The recipe's learning rate at `batch` after warm-up."""
  from tff_course.distributed.lr_scaling import scaled_learning_rate

  _, rule, base_lr = RECIPES[recipe]
  return scaled_learning_rate(base_lr, batch, BASE_BATCH, rule)


def report(results: Results) -> List[str]:
  groups = by_group(results)
  batches = batches_run(results)
  rows = [[LABELS[recipe], f"{RECIPES[recipe][2]:g}"] +
          [accuracy_cell(results, groups[group_name(recipe, b)]) for b in batches]
          for recipe in RECIPES]
  peaks = [[LABELS[recipe]] + [f"{peak_rate(recipe, b):.3g}" for b in batches]
           for recipe in RECIPES]
  return ["## Final test accuracy by batch size",
          markdown.table(["recipe", f"base lr (B = {BASE_BATCH})"] +
                         [f"B = {b}" for b in batches], rows),
          _figure(results, _grid(results)),
          f"## Peak learning rate (reached after the first {WARMUP:.0%} of the steps)",
          markdown.table(["recipe"] + [f"B = {b}" for b in batches], peaks)]


def questions(results: Results) -> List[Answer]:
  grid = _grid(results)
  small, large = batches_run(results)[0], batches_run(results)[-1]
  size = results.test_size(results.arms[0].key)

  def change(recipe: str) -> str:
    first, last = grid[(recipe, small)][0], grid[(recipe, large)][0]
    error = difference_standard_error(first, last, size)
    return f"{LABELS[recipe]} {plus_minus(last - first, error)}"

  best_sgd = max(("sgd-linear", "sgd-sqrt"), key=lambda r: np.nan_to_num(grid[(r, large)][0]))
  against = {recipe: plus_minus(grid[(recipe, large)][0] - grid[(best_sgd, large)][0],
                                difference_standard_error(grid[(recipe, large)][0],
                                                          grid[(best_sgd, large)][0], size))
             for recipe in ("lars", "lamb")}
  return [
      Answer(f"What does growing the batch from {small} to {large} at the same epochs cost "
             "each recipe?", "; ".join(change(recipe) for recipe in RECIPES) + ".", MEASURED),
      Answer(f"At B = {large}, do LARS and LAMB beat the better SGD rule "
             f"({LABELS[best_sgd]})?", f"LARS {against['lars']}, LAMB {against['lamb']}.",
             MEASURED),
  ]


EXPERIMENT = CourseExperiment(
    name="large-batch",
    title="Large-batch training: SGD (linear and square-root scaling), LARS and LAMB "
          "against batch size (course CNN, CIFAR-10)",
    description=(
        f"The course's CNN trained centrally on CIFAR-10 for {EPOCHS} epochs at every batch "
        f"size in {set(BATCH_SIZES)}: the learning rate is scaled from its base at "
        f"B = {BASE_BATCH} by the recipe's rule, warmed up linearly over the first "
        f"{WARMUP:.0%} of the steps and decayed polynomially (power 2) to 0. SGD has "
        f"momentum 0.9; LARS and LAMB adapt the rate per layer (weight decay "
        f"{WEIGHT_DECAY:g}, biases and normalisation weights left out)."),
    duration="22 min measured from a clean clone with nothing else running; --full: 6 "
             "batch sizes, 30 epochs, 3 seeds, est. 27 h",
    arms=arms, report=report, questions=questions,
    assignment=(
        "The course asks for accuracy against batch size (128 to 4,096) for SGD, LARS and "
        "LAMB with the linear and square-root scaling rules and warm-up. The default runs "
        f"{EPOCHS} epochs and one seed to fit 2 cores. Base rates: SGD 0.05 and LAMB 0.002 "
        "at B = 128 are first guesses; LARS's 0.3 is the best of 0.15, 0.3 and 0.6 in 3-epoch "
        "probes at B = 4,096 (10.3 %, 15.7 %, diverged; LAMB reached 34.2 % there)."))
