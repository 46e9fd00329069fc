"""How TaLoS's masks are calibrated: the number of calibration rounds R, and masks the
clients calibrate (federated Fisher scores summed by the server) against central ones.

Every arm is sparse FedAvg (K = 100 IID clients, C = 0.1, J = 4, B = 32, SGDM) of the
pre-trained ResNet-20 on Fashion-MNIST under a least-sensitive mask of one density,
measured after its last round; masks and cells as in `sparse_sweeps`.
"""

from __future__ import annotations

from typing import List

import numpy as np

from tff_course.course import markdown
from tff_course.course.arms import Arm
from tff_course.course.experiment import CourseExperiment
from tff_course.course.finetune_configs import LR
from tff_course.course.questions import MEASURED, SEED_ERRORS, Answer
from tff_course.course.results import Results
from tff_course.course.seed_groups import by_group
from tff_course.course.settings import FULL
from tff_course.course.sparse_sweeps import (DEFAULT_ROUNDS, FEDERATED_ROUNDS, cell, difference,
                                             federated_arm, mask_name)

CALIBRATION_ROUNDS = (1, 4, 16)
DENSITY = 0.1
SEEDS = (0, 1)
FULL_SEEDS = (0, 1, 2)


def arms(setting: str) -> List[Arm]:
  full = setting == FULL
  planned = []
  for seed in FULL_SEEDS if full else SEEDS:
    for rounds in CALIBRATION_ROUNDS:
      planned.append(federated_arm(DENSITY, rounds, False, f"d={DENSITY:g}, R={rounds}",
                                   seed, full))
    planned.append(federated_arm(DENSITY, DEFAULT_ROUNDS, True,
                                 f"d={DENSITY:g}, R={DEFAULT_ROUNDS}, federated calibration",
                                 seed, full))
  return planned


def mask_overlaps(results: Results) -> List[float]:
  """For each seed, the share of the federated calibration's open entries that the central
  one (same density and rounds) opens too."""
  from tff_course.sparse.mask_set import load_masks

  groups = by_group(results)
  pairs = zip(groups[_fed(DEFAULT_ROUNDS)], groups[_fed(DEFAULT_ROUNDS, federated=True)])
  overlaps = []
  for central_key, federated_key in pairs:
    central = load_masks(results.arm(central_key).config.train.masks)
    federated = load_masks(results.arm(federated_key).config.train.masks)
    shared = sum(float(np.sum(central[key] * federated[key])) for key in central)
    overlaps.append(shared / max(sum(float(np.sum(mask)) for mask in federated.values()), 1.0))
  return overlaps


def _fed(rounds: int, federated: bool = False) -> str:
  return f"fed-{mask_name(DENSITY, rounds, federated)}"


def _overlap_text(results: Results) -> str:
  overlaps = mask_overlaps(results)
  return (f"{100 * np.mean(overlaps):.1f} % of the entries the clients' calibration opens "
          f"are opened by the central one too (mean of {len(overlaps)} seed"
          f"{'s' if len(overlaps) > 1 else ''})")


def report(results: Results) -> List[str]:
  rows = [[rounds, cell(results, _fed(rounds))] for rounds in CALIBRATION_ROUNDS]
  return [
      f"## Calibration rounds (density {DENSITY:g}, federated fine-tuning)",
      markdown.table(["calibration rounds R", "final test accuracy"], rows),
      f"## Central against federated calibration (density {DENSITY:g}, R = {DEFAULT_ROUNDS})",
      markdown.table(["calibration", "final test accuracy (federated fine-tuning)"], [
          ["central", cell(results, _fed(DEFAULT_ROUNDS))],
          ["federated", cell(results, _fed(DEFAULT_ROUNDS, federated=True))]]),
      _overlap_text(results) + "."]


def questions(results: Results) -> List[Answer]:
  most, fewest = max(CALIBRATION_ROUNDS), min(CALIBRATION_ROUNDS)
  return [
      Answer(f"Do more calibration rounds help (R = {most} against R = {fewest}, density "
             f"{DENSITY:g})?", f"{difference(results, _fed(most), _fed(fewest))}.", MEASURED),
      Answer("Do masks the clients calibrate work as well as central ones?",
             "Federated minus central calibration: "
             f"{difference(results, _fed(DEFAULT_ROUNDS, True), _fed(DEFAULT_ROUNDS))}; "
             f"{_overlap_text(results)}.", MEASURED),
  ]


EXPERIMENT = CourseExperiment(
    name="calibration-sweeps",
    title="Calibrating sparse masks: calibration rounds, and central against federated "
          "calibration (ResNet-20 -> Fashion-MNIST)",
    description=(
        "The published ResNet-20 for CIFAR-10 with a Fashion-MNIST head trained on its frozen "
        f"features; TaLoS's least-sensitive masks of density {DENSITY:g} after "
        f"{', '.join(str(r) for r in CALIBRATION_ROUNDS)} calibration rounds, and after "
        f"{DEFAULT_ROUNDS} rounds calibrated by the clients (Fisher scores on their own data, "
        "summed by the server). Every arm: sparse FedAvg, 100 IID clients, 10 a round, J = 4, "
        f"B = 32, SGDM lr {LR:g}, {FEDERATED_ROUNDS} rounds, measured at its end."),
    duration="19 min measured (2 seeds) from a clean clone, short unit tests beside it; "
             "--full: 3 seeds, 100 rounds, est. 3 h",
    arms=arms, report=report, questions=questions, errors=SEED_ERRORS,
    assignment=(
        "The course project calibrates DINO ViT-S/16 masks on CIFAR-100 clients; here the "
        "real pre-trained ResNet-20 and Fashion-MNIST, 2 seeds (--full runs 3)."))
