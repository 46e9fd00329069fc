"""Sparse federated fine-tuning of a pre-trained model: the five mask rules against dense.

The published ResNet-20 (CIFAR-10) gets a head for Fashion-MNIST (32x32 colour) on its
frozen features; then FedAvg clients fine-tune it with SparseSGDM under masks of density
0.1 built by each rule (TaLoS's least-sensitive, most-sensitive, lowest and highest
magnitude, random), or with every eligible weight open (dense), over several seeds.
"""

from __future__ import annotations

from typing import Dict, List

import numpy as np

from tff_course.course import markdown
from tff_course.course.arms import Arm
from tff_course.course.experiment import CourseExperiment
from tff_course.course.figures import arm_curves
from tff_course.course.finetune_configs import (LR, dense_preparation, federated_config,
                                               preparation)
from tff_course.course.preparation import Preparation
from tff_course.course.questions import MEASURED, SEED_ERRORS, Answer, plus_minus
from tff_course.course.results import Results
from tff_course.course.seed_groups import accuracy_cell, by_group, group_accuracy, seed_key
from tff_course.course.settings import FULL
from tff_course.sparse.calibration import RULES

DATASET = "fashion_mnist_rgb32"
DENSITY = 0.1
DENSE = "dense"
SEEDS = (0, 1)
FULL_SEEDS = (0, 1, 2)
ROUNDS = 30
FULL_ROUNDS = 100
COMPARED = (DENSE,) + RULES


def _preparation(rule: str, seed: int) -> Preparation:
  key = seed_key(rule.replace("_", "-"), seed)
  if rule == DENSE:
    return dense_preparation(key, DATASET, seed)
  return preparation(key, DATASET, rule=rule, density=DENSITY, rounds=4, seed=seed)


def arms(setting: str) -> List[Arm]:
  seeds = FULL_SEEDS if setting == FULL else SEEDS
  rounds = FULL_ROUNDS if setting == FULL else ROUNDS
  planned = []
  for rule in COMPARED:
    for seed in seeds:
      prepared = _preparation(rule, seed)
      label = (f"dense (all eligible), seed {seed}" if rule == DENSE else
               f"{rule.replace('_', ' ')} d={DENSITY:g}, seed {seed}")
      planned.append(Arm(prepared.key, label,
                         federated_config(prepared.key, prepared, rounds=rounds, seed=seed),
                         preparation=prepared))
  return planned


def by_rule(results: Results) -> Dict[str, List[str]]:
  """Rule -> the keys of its arms (one per seed), in the arms' order."""
  return {name.replace("-", "_"): keys for name, keys in by_group(results).items()}


def report(results: Results) -> List[str]:
  rows = []
  for rule, keys in by_rule(results).items():
    summaries = [results.summary(key) for key in keys]
    per_round = np.mean([s.bytes_up / max(s.rounds, 1) for s in summaries])
    rows.append([rule.replace("_", " "), len(keys), accuracy_cell(results, keys),
                 markdown.megabytes(per_round)])
  first_seed = [keys[0] for keys in by_rule(results).values()]
  return [
      "## Rules at a glance",
      markdown.table(["masks", "seeds", "final test accuracy (mean +- s.e. over seeds)",
                      "uploaded a round"], rows),
      "## Curves (first seed)",
      arm_curves(results, first_seed, "curves.png",
                 f"Sparse FedAvg on {DATASET}: mask rules at density {DENSITY:g} vs dense")]


def questions(results: Results) -> List[Answer]:
  grouped = by_rule(results)

  def accuracy(rule):
    return group_accuracy(results, grouped[rule])

  dense, dense_error = accuracy(DENSE)
  talos, talos_error = accuracy("least_sensitive")
  ranked = sorted((rule for rule in grouped if rule != DENSE),
                  key=lambda rule: -accuracy(rule)[0])
  best, best_error = accuracy(ranked[0])
  saved = (results.summary(grouped[DENSE][0]).bytes_up /
           max(results.summary(grouped["least_sensitive"][0]).bytes_up, 1))
  return [
      Answer(f"Which rule's masks fine-tune best at density {DENSITY:g}?",
             f"{ranked[0].replace('_', ' ')} ({markdown.percent(best)} +- "
             f"{100 * best_error:.1f}); the order: "
             f"{', '.join(rule.replace('_', ' ') for rule in ranked)}.", MEASURED),
      Answer("How much does TaLoS's least-sensitive rule give up against dense "
             "fine-tuning?",
             f"{plus_minus(talos - dense, float(np.hypot(talos_error, dense_error)))} "
             f"(least sensitive {markdown.percent(talos)}, dense {markdown.percent(dense)}; "
             f"errors over seeds).", MEASURED),
      Answer("What do sparse updates save in communication?",
             f"Clients upload {saved:.1f}x fewer bytes than with every eligible weight "
             f"open (only the entries the masks open, 32 bits each).", MEASURED),
  ]


EXPERIMENT = CourseExperiment(
    name="sparse-rules",
    title="Sparse federated fine-tuning: five mask rules against dense (ResNet-20 -> "
          "Fashion-MNIST)",
    description=(
        "The published ResNet-20 for CIFAR-10 gets a head for Fashion-MNIST (padded to "
        "32x32 colour) fitted on its frozen features (a softmax layer trained on them). "
        "Masks of density "
        f"{DENSITY:g} over all weights but the head are calibrated in 4 rounds on 512 "
        "examples by each rule; then 100 IID clients, 10 a round, fine-tune with "
        f"SparseSGDM (lr {LR:g}, momentum 0.9, J = 4 steps of B = 32) and send only "
        "the entries their masks open. Dense opens every eligible weight."),
    duration="19 min measured, nothing else running; --full: 3 seeds, 100 rounds, est. "
             "60 min",
    arms=arms, report=report, questions=questions, errors=SEED_ERRORS,
    assignment=(
        "The course project fine-tunes DINO ViT-S/16 on CIFAR-100 (where its weights and "
        "files exist: `--pretrained dino_vits16`), with the five rules compared at several "
        "sparsities. Here the backbone is the real pre-trained ResNet-20 and the new task "
        "Fashion-MNIST, sized for 2 cores."))
