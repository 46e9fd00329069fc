"""Sparse fine-tuning against mask density, federated and centralized.

TaLoS's least-sensitive masks over the pre-trained ResNet-20 (every weight but the new
Fashion-MNIST head eligible) at several densities; dense opens every eligible weight.
Federated arms are sparse FedAvg (K = 100 IID clients, C = 0.1, J = 4, B = 32, SGDM);
centralized arms fine-tune the same start on 5,000 training examples drawn at random.
The calibration-round and central-against-federated calibration sweeps are
`calibration_sweeps`, which shares this module's masks and cells.
"""

from __future__ import annotations

from typing import List, Optional

import numpy as np

from tff_course.course import markdown
from tff_course.course.arms import Arm
from tff_course.course.experiment import CourseExperiment
from tff_course.course.figures import new_figure, saved_image
from tff_course.course.finetune_configs import (LR, centralized_config, dense_preparation,
                                                federated_config, preparation)
from tff_course.course.preparation import Preparation
from tff_course.course.questions import MEASURED, SEED_ERRORS, Answer, plus_minus
from tff_course.course.results import Results
from tff_course.course.seed_groups import accuracy_cell, by_group, group_accuracy, seed_key
from tff_course.course.settings import FULL

DATASET = "fashion_mnist_rgb32"
DENSITIES = (0.01, 0.05, 0.1, 0.3)
DENSE = 1.0
DEFAULT_ROUNDS = 4
SEEDS = (0, 1)
FULL_SEEDS = (0, 1, 2)
FEDERATED_ROUNDS = 10
FULL_FEDERATED_ROUNDS = 100
CENTRAL_EPOCHS = 1
FULL_CENTRAL_EPOCHS = 10
CENTRAL_EXAMPLES = 5000
FULL_CENTRAL_EXAMPLES = 60000


def mask_name(density: float, rounds: Optional[int] = None, federated: bool = False) -> str:
  """"d0.1-r4", "d0.1-r4-fedcal" or "dense" (rounds: DEFAULT_ROUNDS unless given)."""
  if density == DENSE:
    return "dense"
  return f"d{density:g}-r{rounds or DEFAULT_ROUNDS}" + ("-fedcal" if federated else "")


def sweep_preparation(density: float, rounds: int, federated: bool, seed: int) -> Preparation:
  """The least-sensitive mask of `density` after `rounds` calibration rounds (dense: every
  eligible weight open), keyed by `mask_name` and the seed."""
  key = seed_key(mask_name(density, rounds, federated), seed)
  if density == DENSE:
    return dense_preparation(key, DATASET, seed)
  return preparation(key, DATASET, density=density, rounds=rounds, seed=seed,
                     federated=federated)


def federated_arm(density: float, calibration_rounds: int, federated: bool, label: str,
                  seed: int, full: bool) -> Arm:
  """Sparse FedAvg from `sweep_preparation`, measured once, after the last round."""
  prepared = sweep_preparation(density, calibration_rounds, federated, seed)
  rounds = FULL_FEDERATED_ROUNDS if full else FEDERATED_ROUNDS
  key = seed_key(f"fed-{mask_name(density, calibration_rounds, federated)}", seed)
  return Arm(key, f"FedAvg, {label}, seed {seed}",
             federated_config(key, prepared, rounds=rounds, seed=seed, eval_every=rounds),
             preparation=prepared)


def density_label(density: float) -> str:
  return "dense" if density == DENSE else f"d={density:g}, R={DEFAULT_ROUNDS}"


def arms(setting: str) -> List[Arm]:
  full = setting == FULL
  epochs = FULL_CENTRAL_EPOCHS if full else CENTRAL_EPOCHS
  planned = []
  for seed in FULL_SEEDS if full else SEEDS:
    for density in DENSITIES + (DENSE,):
      label = density_label(density)
      planned.append(federated_arm(density, DEFAULT_ROUNDS, False, label, seed, full))
      prepared = planned[-1].preparation
      key = seed_key(f"central-{mask_name(density)}", seed)
      config = centralized_config(
          key, prepared, epochs=epochs, eval_every=epochs, seed=seed,
          examples=FULL_CENTRAL_EXAMPLES if full else CENTRAL_EXAMPLES)
      planned.append(Arm(key, f"centralized, {label}, seed {seed}", config,
                         preparation=prepared))
  return planned


def cell(results: Results, group: str) -> str:
  """The group's accuracy with its error, or "n/a" when it did not run."""
  groups = by_group(results)
  return accuracy_cell(results, groups[group]) if group in groups else "n/a"


def difference(results: Results, first: str, second: str) -> str:
  """First group's accuracy minus the second's, with the error of the difference."""
  groups = by_group(results)
  (a, a_error), (b, b_error) = (group_accuracy(results, groups[first]),
                                group_accuracy(results, groups[second]))
  return plus_minus(a - b, float(np.hypot(a_error, b_error)))


def report(results: Results) -> List[str]:
  groups = by_group(results)
  rows = []
  for density in DENSITIES + (DENSE,):
    name = mask_name(density)
    upload = np.mean([results.summary(key).bytes_up / max(results.summary(key).rounds, 1)
                      for key in groups[f"fed-{name}"]])
    rows.append([f"{density:g}", cell(results, f"fed-{name}"),
                 cell(results, f"central-{name}"), markdown.megabytes(upload)])
  return [
      "## Accuracy against density (least-sensitive masks, R = "
      f"{DEFAULT_ROUNDS} calibration rounds)",
      markdown.table(["density", "federated", "centralized", "uploaded a round (federated)"],
                     rows),
      _density_figure(results)]


def _density_figure(results: Results) -> str:
  groups = by_group(results)
  figure, axis = new_figure()
  for setting, marker in (("fed", "o"), ("central", "s")):
    points = [(density, *group_accuracy(results, groups[f"{setting}-{mask_name(density)}"]))
              for density in DENSITIES + (DENSE,)]
    densities, means, errors = zip(*points)
    axis.errorbar(densities, [100 * m for m in means],
                  yerr=[100 * np.nan_to_num(e) for e in errors], marker=marker, capsize=3,
                  label="federated" if setting == "fed" else "centralized")
  axis.set_xscale("log")
  axis.set_xlabel("mask density (fraction of eligible weights updated)")
  axis.set_ylabel("final test accuracy (%)")
  axis.set_title("Sparse fine-tuning of ResNet-20 on Fashion-MNIST", fontsize=9)
  axis.legend(fontsize=8)
  figure.tight_layout()
  return saved_image(results, figure, "accuracy-density.png",
                     "final test accuracy against mask density")


def questions(results: Results) -> List[Answer]:
  sparsest, dense = mask_name(DENSITIES[0]), mask_name(DENSE)
  return [
      Answer(f"How much accuracy does federated fine-tuning of {DENSITIES[0]:g} of the "
             "weights give up against dense?",
             f"{difference(results, f'fed-{sparsest}', f'fed-{dense}')} (density "
             f"{DENSITIES[0]:g}: {cell(results, f'fed-{sparsest}')}; dense: "
             f"{cell(results, f'fed-{dense}')}).", MEASURED),
      Answer(f"And centralized fine-tuning, on {CENTRAL_EXAMPLES:,} examples?",
             f"{difference(results, f'central-{sparsest}', f'central-{dense}')} (density "
             f"{DENSITIES[0]:g}: {cell(results, f'central-{sparsest}')}; dense: "
             f"{cell(results, f'central-{dense}')}).", MEASURED),
  ]


EXPERIMENT = CourseExperiment(
    name="sparse-sweeps",
    title="Sparse fine-tuning against mask density, federated and centralized "
          "(ResNet-20 -> Fashion-MNIST)",
    description=(
        "The published ResNet-20 for CIFAR-10 with a head for Fashion-MNIST trained on its "
        "frozen features; TaLoS's least-sensitive masks at densities "
        f"{', '.join(f'{d:g}' for d in DENSITIES)} (and dense) after {DEFAULT_ROUNDS} "
        "calibration rounds. Federated arms: sparse FedAvg, 100 IID clients, 10 a round, "
        f"J = 4, B = 32, SGDM lr {LR:g}, {FEDERATED_ROUNDS} rounds; centralized arms: "
        f"{CENTRAL_EPOCHS} epoch on {CENTRAL_EXAMPLES:,} examples. Each run is measured "
        "once, at its end."),
    duration="28 min measured (2 seeds) from a clean clone, short unit tests beside it; "
             "--full: 3 seeds, 100 rounds / 10 epochs on 60,000 examples, est. 8 h",
    arms=arms, report=report, questions=questions, errors=SEED_ERRORS,
    assignment=(
        "The course project sweeps sparsity on DINO ViT-S/16 and CIFAR-100 clients; here "
        "on the real pre-trained ResNet-20 and Fashion-MNIST, 2 seeds (--full runs 3). "
        "Calibration rounds and federated calibration: `calibration-sweeps`."))
