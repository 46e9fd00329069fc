"""Centralized fine-tuning baselines: SGDM with a constant, a step and a cosine learning
rate, from the pre-trained ResNet-20 with a new head, over seeds.

Every eligible weight may be updated (dense fine-tuning with SparseSGDM, batch norm in
inference mode); the schedules share the peak rate and the epochs. These are the
centralized references the federated and sparse runs are measured against.
"""

from __future__ import annotations

from typing import List

import numpy as np

from tff_course.course import markdown
from tff_course.course.arms import Arm
from tff_course.course.experiment import CourseExperiment
from tff_course.course.figures import arm_curves
from tff_course.course.finetune_configs import (BATCH, LR, MOMENTUM, centralized_config,
                                                dense_preparation)
from tff_course.course.questions import MEASURED, SEED_ERRORS, Answer, plus_minus
from tff_course.course.results import Results
from tff_course.course.seed_groups import accuracy_cell, by_group, group_accuracy, seed_key
from tff_course.course.settings import FULL

DATASET = "fashion_mnist_rgb32"
SCHEDULES = ("constant", "step", "cosine")
SEEDS = (0, 1)
FULL_SEEDS = (0, 1, 2)
EPOCHS = 5
FULL_EPOCHS = 20
EXAMPLES = 5000
FULL_EXAMPLES = 60000
SCHEDULE_NAMES = {"constant": "constant", "step": "step (/10 at 50 % and 75 %)",
                  "cosine": "cosine annealing"}


def arms(setting: str) -> List[Arm]:
  full = setting == FULL
  planned = []
  for seed in FULL_SEEDS if full else SEEDS:
    prepared = dense_preparation(seed_key("dense", seed), DATASET, seed)
    for schedule in SCHEDULES:
      key = seed_key(schedule, seed)
      config = centralized_config(key, prepared, epochs=FULL_EPOCHS if full else EPOCHS,
                                  examples=FULL_EXAMPLES if full else EXAMPLES, seed=seed,
                                  lr_schedule=schedule)
      planned.append(Arm(key, f"{SCHEDULE_NAMES[schedule]}, seed {seed}", config,
                         preparation=prepared))
  return planned


def report(results: Results) -> List[str]:
  grouped = by_group(results)
  rows = []
  for schedule, keys in grouped.items():
    best = np.mean([results.summary(key).best_test_accuracy for key in keys])
    rows.append([SCHEDULE_NAMES[schedule], len(keys), accuracy_cell(results, keys),
                 markdown.percent(float(best))])
  first_seed = [keys[0] for keys in grouped.values()]
  return [
      "## Schedules at a glance",
      markdown.table(["learning rate", "seeds", "final test accuracy (mean +- s.e. over "
                      "seeds)", "best epoch's accuracy (mean)"], rows),
      "## Curves (first seed)",
      arm_curves(results, first_seed, "curves.png",
                 "Centralized dense fine-tuning of ResNet-20 on Fashion-MNIST: schedules",
                 xlabel="epoch")]


def questions(results: Results) -> List[Answer]:
  grouped = by_group(results)
  accuracy = {schedule: group_accuracy(results, keys) for schedule, keys in grouped.items()}
  ranked = sorted(accuracy, key=lambda schedule: -accuracy[schedule][0])
  cosine, cosine_error = accuracy["cosine"]
  constant, constant_error = accuracy["constant"]
  first_epoch = np.mean([results.metrics(keys[0])["test_accuracy"][0]
                         for keys in grouped.values()])
  return [
      Answer("Which learning-rate schedule fine-tunes best at equal epochs?",
             f"{SCHEDULE_NAMES[ranked[0]]} ({markdown.percent(accuracy[ranked[0]][0])}); the "
             f"order: {', '.join(SCHEDULE_NAMES[s] for s in ranked)}.", MEASURED),
      Answer("What does cosine annealing change against a constant rate?",
             f"{plus_minus(cosine - constant, float(np.hypot(cosine_error, constant_error)))}"
             f" (cosine {markdown.percent(cosine)}, constant {markdown.percent(constant)}; "
             f"errors over seeds).", MEASURED),
      Answer("How far does the first epoch get?",
             f"{markdown.percent(float(first_epoch))} after one epoch (mean of the schedules' "
             f"first seeds), from a head-only start.", MEASURED),
  ]


EXPERIMENT = CourseExperiment(
    name="finetune-schedules",
    title="Centralized fine-tuning baselines: constant, step and cosine learning rates "
          "(ResNet-20 -> Fashion-MNIST)",
    description=(
        "The published ResNet-20 for CIFAR-10 gets a head for Fashion-MNIST (32x32 colour) "
        f"trained on its frozen features; then every eligible weight is fine-tuned on "
        f"{EXAMPLES:,} training examples for {EPOCHS} epochs with SGDM (lr {LR:g}, momentum "
        f"{MOMENTUM:g}, B = {BATCH}), batch norm in inference mode, under three schedules of "
        "the same peak rate."),
    duration="11 min measured, with tests sharing the cores; --full: 60,000 examples, 20 "
             "epochs, 3 seeds, est. 6 h",
    arms=arms, report=report, questions=questions, errors=SEED_ERRORS,
    assignment=(
        "The course project's centralized baselines fine-tune DINO ViT-S/16 on CIFAR-100 "
        "with SGDM and cosine annealing; here the backbone is the real pre-trained "
        "ResNet-20 and the task Fashion-MNIST, sized for 2 cores."))
