"""Sparse fine-tuning sweeps: accuracy against mask density, federated and centralized;
against the number of calibration rounds; and masks calibrated centrally against masks
the clients calibrate (federated Fisher scores summed by the server).

All masks are TaLoS's least-sensitive rule over the pre-trained ResNet-20 (every weight
but the new Fashion-MNIST head eligible); dense opens every eligible weight. Federated
arms are sparse FedAvg (K = 100 IID clients, C = 0.1, J = 4, B = 32, SGDM); centralized
arms fine-tune the same start on 5,000 training examples drawn at random.
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
CALIBRATION_ROUNDS = (1, 4, 16)
SWEEP_DENSITY = 0.1
DEFAULT_ROUNDS = 4
SEEDS = (0,)
FULL_SEEDS = (0, 1, 2)
FEDERATED_ROUNDS = 10
FULL_FEDERATED_ROUNDS = 100
CENTRAL_EPOCHS = 2
FULL_CENTRAL_EPOCHS = 10
CENTRAL_EXAMPLES = 5000
FULL_CENTRAL_EXAMPLES = 60000


def mask_name(density: float, rounds: Optional[int] = None, federated: bool = False) -> str:
  """"d0.1-r4", "d0.1-r4-fedcal" or "dense" (rounds: DEFAULT_ROUNDS unless given)."""
  if density == DENSE:
    return "dense"
  return f"d{density:g}-r{rounds or DEFAULT_ROUNDS}" + ("-fedcal" if federated else "")


def _preparation(name: str, density: float, rounds: int, federated: bool,
                 seed: int) -> Preparation:
  key = seed_key(name, seed)
  if density == DENSE:
    return dense_preparation(key, DATASET, seed)
  return preparation(key, DATASET, density=density, rounds=rounds, seed=seed,
                     federated=federated)


def _masks() -> List[tuple]:
  """(density, calibration rounds, federated calibration, also centralized) of each
  mask the sweeps fine-tune under."""
  planned = [(density, DEFAULT_ROUNDS, False, True) for density in DENSITIES + (DENSE,)]
  planned += [(SWEEP_DENSITY, rounds, False, False) for rounds in CALIBRATION_ROUNDS
              if rounds != DEFAULT_ROUNDS]
  planned.append((SWEEP_DENSITY, DEFAULT_ROUNDS, True, False))
  return planned


def arms(setting: str) -> List[Arm]:
  full = setting == FULL
  rounds = FULL_FEDERATED_ROUNDS if full else FEDERATED_ROUNDS
  planned = []
  for seed in FULL_SEEDS if full else SEEDS:
    for density, calibration_rounds, federated, centralized in _masks():
      name = mask_name(density, calibration_rounds, federated)
      prepared = _preparation(name, density, calibration_rounds, federated, seed)
      label = ("dense" if density == DENSE else
               f"d={density:g}, R={calibration_rounds}" +
               (", federated calibration" if federated else ""))
      key = seed_key(f"fed-{name}", seed)
      planned.append(Arm(key, f"FedAvg, {label}, seed {seed}",
                         federated_config(key, prepared, rounds=rounds, seed=seed),
                         preparation=prepared))
      if centralized:
        key = seed_key(f"central-{name}", seed)
        config = centralized_config(
            key, prepared, epochs=FULL_CENTRAL_EPOCHS if full else CENTRAL_EPOCHS,
            examples=FULL_CENTRAL_EXAMPLES if full else CENTRAL_EXAMPLES, seed=seed)
        planned.append(Arm(key, f"centralized, {label}, seed {seed}", config,
                           preparation=prepared))
  return planned


def _accuracy(results: Results, group: str):
  return group_accuracy(results, by_group(results)[group])


def _cell(results: Results, group: str) -> str:
  groups = by_group(results)
  return accuracy_cell(results, groups[group]) if group in groups else "n/a"


def mask_overlap(results: Results, seed_index: int = 0) -> float:
  """The share of the federated calibration's open entries that the central one (same
  density and rounds) opens too."""
  from tff_course.sparse.mask_set import load_masks

  groups = by_group(results)
  central = load_masks(results.arm(groups[f"fed-{mask_name(SWEEP_DENSITY)}"][seed_index])
                       .config.train.masks)
  federated = load_masks(results.arm(
      groups[f"fed-{mask_name(SWEEP_DENSITY, federated=True)}"][seed_index]).config.train.masks)
  shared = sum(float(np.sum(central[key] * federated[key])) for key in central)
  return shared / max(sum(float(np.sum(mask)) for mask in federated.values()), 1.0)


def report(results: Results) -> List[str]:
  groups = by_group(results)
  density_rows = []
  for density in DENSITIES + (DENSE,):
    name = mask_name(density)
    upload = np.mean([results.summary(key).bytes_up / max(results.summary(key).rounds, 1)
                      for key in groups[f"fed-{name}"]])
    density_rows.append([f"{density:g}", _cell(results, f"fed-{name}"),
                         _cell(results, f"central-{name}"), markdown.megabytes(upload)])
  rounds_rows = [[rounds, _cell(results, f"fed-{mask_name(SWEEP_DENSITY, rounds)}")]
                 for rounds in CALIBRATION_ROUNDS]
  return [
      "## Accuracy against density (least-sensitive masks, R = "
      f"{DEFAULT_ROUNDS} calibration rounds)",
      markdown.table(["density", "federated", "centralized", "uploaded a round (federated)"],
                     density_rows),
      _density_figure(results),
      f"## Calibration rounds (density {SWEEP_DENSITY:g}, federated fine-tuning)",
      markdown.table(["calibration rounds R", "final test accuracy"], rounds_rows),
      f"## Central against federated calibration (density {SWEEP_DENSITY:g}, R = "
      f"{DEFAULT_ROUNDS})",
      markdown.table(["calibration", "final test accuracy (federated fine-tuning)"], [
          ["central", _cell(results, f"fed-{mask_name(SWEEP_DENSITY)}")],
          ["federated", _cell(results, f"fed-{mask_name(SWEEP_DENSITY, federated=True)}")]]),
      f"{100 * mask_overlap(results):.1f} % of the entries the clients' calibration opens "
      "are opened by the central one too (first seed)."]


def _density_figure(results: Results) -> str:
  figure, axis = new_figure()
  for setting, marker in (("fed", "o"), ("central", "s")):
    points = [(density, *_accuracy(results, f"{setting}-{mask_name(density)}"))
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


def _difference(results: Results, first: str, second: str) -> str:
  (a, a_error), (b, b_error) = _accuracy(results, first), _accuracy(results, second)
  return plus_minus(a - b, float(np.hypot(a_error, b_error)))


def questions(results: Results) -> List[Answer]:
  sparsest, dense = f"fed-{mask_name(DENSITIES[0])}", f"fed-{mask_name(DENSE)}"
  most, fewest = (f"fed-{mask_name(SWEEP_DENSITY, max(CALIBRATION_ROUNDS))}",
                  f"fed-{mask_name(SWEEP_DENSITY, min(CALIBRATION_ROUNDS))}")
  central, federated = (f"fed-{mask_name(SWEEP_DENSITY)}",
                        f"fed-{mask_name(SWEEP_DENSITY, federated=True)}")
  return [
      Answer(f"How much accuracy does federated fine-tuning of {DENSITIES[0]:g} of the "
             "weights give up against dense?",
             f"{_difference(results, sparsest, dense)} (density {DENSITIES[0]:g}: "
             f"{_cell(results, sparsest)}; dense: {_cell(results, dense)}).", MEASURED),
      Answer(f"Do more calibration rounds help (R = {max(CALIBRATION_ROUNDS)} against "
             f"R = {min(CALIBRATION_ROUNDS)}, density {SWEEP_DENSITY:g})?",
             f"{_difference(results, most, fewest)}.", MEASURED),
      Answer("Do masks the clients calibrate work as well as central ones?",
             f"Federated minus central calibration: {_difference(results, federated, central)};"
             f" {100 * mask_overlap(results):.1f} % of the open entries agree.", MEASURED),
  ]


EXPERIMENT = CourseExperiment(
    name="sparse-sweeps",
    title="Sparse fine-tuning sweeps: density, calibration rounds, central against federated "
          "calibration (ResNet-20 -> Fashion-MNIST)",
    description=(
        "The published ResNet-20 for CIFAR-10 with a head for Fashion-MNIST trained on its "
        "frozen features; TaLoS's least-sensitive masks at densities "
        f"{', '.join(f'{d:g}' for d in DENSITIES)} (and dense) after {DEFAULT_ROUNDS} "
        f"calibration rounds; at density {SWEEP_DENSITY:g} also after "
        f"{' and '.join(str(r) for r in CALIBRATION_ROUNDS if r != DEFAULT_ROUNDS)} rounds "
        "and calibrated by the clients. Federated arms: sparse FedAvg, 100 IID clients, 10 a "
        f"round, J = 4, B = 32, SGDM lr {LR:g}, {FEDERATED_ROUNDS} rounds; centralized arms: "
        f"{CENTRAL_EPOCHS} epochs on {CENTRAL_EXAMPLES:,} examples."),
    duration="21 min measured (one seed), with other jobs sharing the cores; --full: 3 "
             "seeds, 100 rounds, est. 8 h",
    arms=arms, report=report, questions=questions, errors=SEED_ERRORS,
    assignment=(
        "The course project sweeps sparsity and calibration rounds on DINO ViT-S/16 and "
        "CIFAR-100 clients; here on the real pre-trained ResNet-20 and Fashion-MNIST, one "
        "seed by default (the sweep's 13 runs fill 2 cores; --full runs 3)."))
