"""Participation and local work: FedAvg with a share C of the clients a round and J local
steps each, rounds scaled so that rounds x J is the same in every arm, on IID clients
and on clients holding Nc classes; accuracy against rounds and against bytes uploaded.

CIFAR-10 here (CIFAR-100, where its files exist, with `--set data.dataset=cifar100`),
100 clients of 500 images, the course's small ConvNet, local SGD (lr 0.05, B 20).
"""

from __future__ import annotations

from typing import Dict, List, Optional, Tuple

import numpy as np

from tff_course.course import markdown
from tff_course.course.arms import Arm
from tff_course.course.cifar_configs import (BATCH_SIZE, CLIENT_LR, DEVICES,
                                             EXAMPLES_PER_DEVICE, MODEL)
from tff_course.course.experiment import CourseExperiment
from tff_course.course.figures import new_figure, saved_image
from tff_course.course.questions import MEASURED, SEED_ERRORS, Answer
from tff_course.course.results import Results
from tff_course.course.seed_groups import (accuracy_cell, accuracy_gap, by_group,
                                           group_accuracy, mean_curve, seed_key)
from tff_course.course.settings import FULL
from tff_course.experiment.config import DataConfig, ExperimentConfig, TrainConfig

DATASET = "cifar10"
FRACTIONS = (0.05, 0.1, 0.2, 0.5)
DEFAULT_FRACTIONS = (0.05, 0.2)
LOCAL_STEPS = (1, 4, 8, 16)
DEFAULT_LOCAL_STEPS = (1, 4, 16)
PARTITIONS: Dict[str, Optional[int]] = {"iid": None, "nc2": 2}
STEP_BUDGET = 512
FULL_STEP_BUDGET = 1024
SEEDS = (0, 1)
FULL_SEEDS = (0, 1, 2)
EVALUATIONS = 4


def partition_label(name: str) -> str:
  return "IID" if PARTITIONS[name] is None else f"Nc = {PARTITIONS[name]}"


def group_name(partition: str, fraction: float, steps: int) -> str:
  """"iid-c0.05-j4"."""
  return f"{partition}-c{fraction:g}-j{steps}"


def parse_group(group: str) -> Tuple[str, float, int]:
  """"iid-c0.05-j4" -> ("iid", 0.05, 4)."""
  partition, fraction, steps = group.rsplit("-", 2)
  return partition, float(fraction[1:]), int(steps[1:])


def _config(key: str, partition: str, fraction: float, steps: int, rounds: int,
            seed: int) -> ExperimentConfig:
  classes = PARTITIONS[partition]
  every = max(rounds // EVALUATIONS, 1)
  return ExperimentConfig(
      name=key,
      data=DataConfig(dataset=DATASET, partition="iid" if classes is None else "classes",
                      num_clients=DEVICES, samples_per_client=EXAMPLES_PER_DEVICE,
                      classes_per_client=classes),
      train=TrainConfig(model=MODEL, algorithm="fedavg", client_lr=CLIENT_LR, epochs=None,
                        steps=steps, batch_size=BATCH_SIZE, rounds=rounds,
                        client_fraction=fraction, eval_every=every, checkpoint_every=every,
                        seed=seed))


def arms(setting: str) -> List[Arm]:
  full = setting == FULL
  budget = FULL_STEP_BUDGET if full else STEP_BUDGET
  fractions = FRACTIONS if full else DEFAULT_FRACTIONS
  local_steps = LOCAL_STEPS if full else DEFAULT_LOCAL_STEPS
  planned = []
  for seed in FULL_SEEDS if full else SEEDS:
    for partition in PARTITIONS:
      for fraction in fractions:
        for steps in local_steps:
          key = seed_key(group_name(partition, fraction, steps), seed)
          planned.append(Arm(
              key, f"{partition_label(partition)}, C = {fraction:g}, J = {steps}, seed {seed}",
              _config(key, partition, fraction, steps, budget // steps, seed),
              rounds_per_round=max(local_steps) // steps))
  return planned


def _grid(results: Results) -> Dict[Tuple[str, float, int], Tuple[float, float]]:
  return {parse_group(group): group_accuracy(results, keys)
          for group, keys in by_group(results).items()}


def _axes_values(grid) -> Tuple[List[str], List[float], List[int]]:
  partitions = [p for p in PARTITIONS if any(key[0] == p for key in grid)]
  fractions = sorted({key[1] for key in grid})
  steps = sorted({key[2] for key in grid})
  return partitions, fractions, steps


def _curves(results: Results) -> str:
  grid = _grid(results)
  partitions, fractions, steps = _axes_values(grid)
  groups = by_group(results)
  figure, axes = new_figure(2 * len(partitions), figsize=(5 * len(partitions) * 2, 3.6))
  axes = np.atleast_1d(axes)
  for index, partition in enumerate(partitions):
    for fraction in fractions:
      for j in steps:
        keys = groups[group_name(partition, fraction, j)]
        label = f"C {fraction:g}, J {j}"
        for axis, x, scale in ((axes[2 * index], "round", 1),
                               (axes[2 * index + 1], "uploaded", 2**20)):
          xs, accuracy = mean_curve(results, keys, x)
          axis.plot(xs / scale, 100 * accuracy, marker="o", markersize=3, label=label)
    axes[2 * index].set_title(f"{partition_label(partition)}: against rounds", fontsize=9)
    axes[2 * index + 1].set_title(f"{partition_label(partition)}: against MiB uploaded",
                                  fontsize=9)
    axes[2 * index + 1].set_xscale("log")
  for axis in axes:
    axis.set_ylabel("test accuracy (%)")
    axis.legend(fontsize=6)
  figure.tight_layout()
  return saved_image(results, figure, "curves.png",
                     "test accuracy against rounds and against bytes uploaded")


def report(results: Results) -> List[str]:
  grid = _grid(results)
  partitions, fractions, steps = _axes_values(grid)
  groups = by_group(results)
  budget = results.arms[0].config.train.rounds * results.arms[0].config.train.steps
  sections = [f"## Final test accuracy (rounds x J = {budget})"]
  for partition in partitions:
    rows = [[f"C = {fraction:g}"] + [
        accuracy_cell(results, groups[group_name(partition, fraction, j)]) for j in steps]
        for fraction in fractions]
    sections += [f"### {partition_label(partition)}",
                 markdown.table(["C"] + [f"J = {j}" for j in steps], rows)]
  return sections + [_curves(results)]


def questions(results: Results) -> List[Answer]:
  grid = _grid(results)
  partitions, fractions, steps = _axes_values(grid)
  accuracy = {group_name(*key): value for key, value in grid.items()}
  low, high = fractions[0], fractions[-1]
  few, many = steps[0], steps[-1]
  answers = []
  for partition in partitions:
    name = partition_label(partition)
    answers.append(Answer(
        f"{name}: at a fixed budget of local steps, do more local steps (fewer rounds) help?",
        f"J = {many} against J = {few} at C = {high:g}: " + accuracy_gap(
            accuracy, group_name(partition, high, many), group_name(partition, high, few)) +
        f"; at C = {low:g}: " + accuracy_gap(
            accuracy, group_name(partition, low, many), group_name(partition, low, few)) +
        ".", MEASURED))
    answers.append(Answer(
        f"{name}: what does taking part more (C = {high:g} against {low:g}) buy?",
        f"At J = {few}: " + accuracy_gap(accuracy, group_name(partition, high, few),
                                         group_name(partition, low, few)) +
        f"; at J = {many}: " + accuracy_gap(accuracy, group_name(partition, high, many),
                                           group_name(partition, low, many)) +
        f", for {high / low:g} times the bytes uploaded.", MEASURED))
  return answers


EXPERIMENT = CourseExperiment(
    name="participation",
    title="Participation and local work: C x J at a fixed budget of local steps, IID and "
          "Nc = 2 (CIFAR-10)",
    description=(
        f"FedAvg on CIFAR-10: {DEVICES} clients of {EXAMPLES_PER_DEVICE} images, IID or "
        "two classes each; a share C of them a round take J local SGD steps (lr "
        f"{CLIENT_LR:g}, B {BATCH_SIZE}) of the small ConvNet, for {STEP_BUDGET} / J rounds, "
        f"so rounds x J = {STEP_BUDGET} in every arm. Default: C in "
        f"{set(DEFAULT_FRACTIONS)}, J in {set(DEFAULT_LOCAL_STEPS)}, {len(SEEDS)} seeds; "
        f"--full: C in {set(FRACTIONS)}, J in {set(LOCAL_STEPS)}, rounds x J = "
        f"{FULL_STEP_BUDGET}, {len(FULL_SEEDS)} seeds."),
    duration="20.8 min measured from a clean clone (2 seeds, rounds x J = 512); --full: "
             "est. 15 h",
    arms=arms, report=report, questions=questions, errors=SEED_ERRORS,
    assignment=(
        "The project sweeps C in {0.05, 0.1, 0.2, 0.5} and J in {1, 4, 8, 16} with rounds x "
        "J constant, IID and Nc-class non-IID, on CIFAR-100; --full runs that grid on "
        "CIFAR-10 (add --set data.dataset=cifar100 where CIFAR-100's files exist, and "
        "data.classes_per_client for its Nc), the default a corner of it."))
