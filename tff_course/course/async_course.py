"""Asynchronous against synchronous SGD at equal gradient steps, on parameter-server processes:
accuracy against applied updates and wall time, and how stale the asynchronous gradients
were."""

from __future__ import annotations

import os
from typing import List

import numpy as np

from tff_course.course import markdown
from tff_course.course.arms import Arm
from tff_course.course.distributed_runs import JOB_DIR, run_async_sgd
from tff_course.course.experiment import CourseExperiment
from tff_course.course.figures import new_figure, saved_image
from tff_course.course.questions import MEASURED, SEED_ERRORS, Answer, mean_and_error
from tff_course.course.results import Results
from tff_course.course.seed_groups import (accuracy_cell, accuracy_gap, by_group, group_accuracy,
                                           mean_curve, seed_key)
from tff_course.course.settings import FULL

SYNCHRONOUS = "sync-w2"
RUNS = {SYNCHRONOUS: (2, True), "async-w2": (2, False), "async-w4": (4, False)}
LABELS = {SYNCHRONOUS: "synchronous SGD, 2 workers", "async-w2": "asynchronous SGD, 2 workers",
          "async-w4": "asynchronous SGD, 4 workers"}
SEEDS = (0, 1)
FULL_SEEDS = (0, 1, 2)
ROUNDS = 6
STEPS_PER_ROUND = 500
FULL_STEPS_PER_ROUND = 2000
COMMON = {"dataset": "cifar10", "model": "cifar_convnet", "parameter_servers": 1,
          "batch_size": 64, "lr": 0.05}


def arms(setting: str) -> List[Arm]:
  full = setting == FULL
  planned = []
  for seed in FULL_SEEDS if full else SEEDS:
    for group, (workers, synchronous) in RUNS.items():
      settings = {**COMMON, "seed": seed, "workers": workers, "synchronous": synchronous,
                  "rounds": ROUNDS,
                  "steps_per_round": FULL_STEPS_PER_ROUND if full else STEPS_PER_ROUND}
      planned.append(Arm(seed_key(group, seed), f"{LABELS[group]}, seed {seed}",
                         settings=settings, run_outside=run_async_sgd))
  return planned


def staleness(results: Results, keys: List[str]) -> np.ndarray:
  """The staleness of every update the arms applied (all seeds)."""
  from tff_course.distributed.async_launch import read_steps

  return np.asarray([record.staleness for key in keys
                     for record in read_steps(os.path.join(results.path(key), JOB_DIR))])


def _wall_seconds(results: Results, keys: List[str]) -> float:
  return float(np.mean([np.sum(results.metrics(key)["seconds"]) for key in keys]))


def _curves_figure(results: Results) -> str:
  figure, (updates_axis, time_axis) = new_figure(2, figsize=(10, 3.8))
  for group, keys in by_group(results).items():
    for axis, x in ((updates_axis, "gradient_steps"), (time_axis, "wall_seconds")):
      xs, accuracy = mean_curve(results, keys, x)
      axis.plot(xs, 100 * accuracy, "--" if group == SYNCHRONOUS else "-", marker="o",
                markersize=3, label=LABELS[group])
  updates_axis.set_xlabel("updates applied to the servers' weights")
  time_axis.set_xlabel("wall seconds from the first dispatch")
  for axis in (updates_axis, time_axis):
    axis.set_ylabel("test accuracy (%)")
  updates_axis.legend(fontsize=7)
  figure.suptitle("Asynchronous against synchronous SGD (mean over seeds)", fontsize=10)
  figure.tight_layout()
  return saved_image(results, figure, "accuracy-curves.png",
                     "test accuracy against applied updates and wall time")


def _staleness_figure(results: Results) -> str:
  groups = {group: keys for group, keys in by_group(results).items() if group != SYNCHRONOUS}
  figure, axes = new_figure(max(len(groups), 1), figsize=(4.5 * max(len(groups), 1), 3.4))
  for axis, (group, keys) in zip(np.atleast_1d(axes), groups.items()):
    values, counts = np.unique(staleness(results, keys), return_counts=True)
    axis.bar(values, counts / counts.sum(), color="C1")
    axis.set_title(LABELS[group], fontsize=9)
    axis.set_xlabel("staleness (updates applied between read and update)")
    axis.set_ylabel("share of applied gradients")
  figure.tight_layout()
  return saved_image(results, figure, "staleness.png",
                     "staleness of the asynchronous runs' gradients (all seeds)")


def report(results: Results) -> List[str]:
  rows = []
  for group, keys in by_group(results).items():
    stale = staleness(results, keys)
    seconds = _wall_seconds(results, keys)
    updates = results.arm(keys[0]).settings
    total = updates["rounds"] * updates["steps_per_round"]
    rows.append((LABELS[group], f"{total:,}", accuracy_cell(results, keys),
                 f"{stale.mean():.2f}", str(int(stale.max())), f"{seconds:.0f}",
                 f"{total / seconds:.1f}"))
  return ["## Final test accuracy, staleness and speed (mean over seeds)",
          markdown.table(("run", "updates", "final test acc. (+- s.e.)", "mean staleness",
                          "max staleness", "wall s", "updates / s"), rows),
          _curves_figure(results), _staleness_figure(results)]


def questions(results: Results) -> List[Answer]:
  groups = by_group(results)
  accuracy = {group: group_accuracy(results, keys) for group, keys in groups.items()}
  asynchronous = [group for group in groups if group != SYNCHRONOUS]
  gaps = ", ".join(f"{LABELS[group]}: {accuracy_gap(accuracy, group, SYNCHRONOUS)}"
                   for group in asynchronous)
  mean_staleness = ", ".join(
      f"{LABELS[group]}: mean {staleness(results, groups[group]).mean():.2f}"
      for group in asynchronous)
  speedups = []
  for group in asynchronous:
    ratio = mean_and_error([
        float(np.sum(results.metrics(sync_key)["seconds"]) /
              np.sum(results.metrics(key)["seconds"]))
        for sync_key, key in zip(groups[SYNCHRONOUS], groups[group])])
    speedups.append(f"{LABELS[group]}: {ratio[0]:.2f}x (+- {ratio[1]:.2f})")
  return [
      Answer("At the same number of applied gradients, what does asynchrony cost in "
             "accuracy against synchronous SGD?", f"Against synchronous SGD: {gaps}.",
             MEASURED),
      Answer("How stale are the asynchronous gradients?",
             f"Updates applied by other workers between a step's read of the weights and its "
             f"own update: {mean_staleness}.", MEASURED),
      Answer("Is asynchronous SGD faster in wall time?",
             f"Wall time of the synchronous run divided by the asynchronous run's: "
             f"{'; '.join(speedups)}. All processes share this machine's cores, so more "
             "workers add no compute here: what asynchrony saves is the wait for each "
             "update before the next dispatch.", MEASURED),
  ]


EXPERIMENT = CourseExperiment(
    name="async-sgd",
    title="Asynchronous against synchronous SGD at equal gradient steps (course CNN, "
          "CIFAR-10, parameter-server processes)",
    description=(
        "tf.distribute's ParameterServerStrategy: a coordinator process hands SGD steps of "
        f"B = {COMMON['batch_size']} (plain SGD, lr {COMMON['lr']:g}) to worker processes; "
        "the weights live on one parameter-server process. Synchronous SGD dispatches a "
        "step only once the previous update is applied (it is one-process SGD on the same "
        "batches, which the tests check to 1e-5: the centralized baseline at equal steps); "
        "asynchronous SGD keeps every worker busy and applies each gradient as it arrives, "
        "computed on weights that other updates may have changed since (its staleness). "
        f"Every run applies {ROUNDS * STEPS_PER_ROUND:,} updates on the same batches in "
        f"the same step order; the weights are read off the server {ROUNDS - 1} times "
        "during the run and at its end, and tested afterwards."),
    duration="14 min measured from a clean clone with nothing else running; --full: "
             "12,000 updates, 3 seeds (est. 1.3 h)",
    arms=arms, report=report, questions=questions, errors=SEED_ERRORS,
    assignment=(
        "The course compares asynchronous with synchronous SGD; the default here applies "
        f"{ROUNDS * STEPS_PER_ROUND:,} updates of {COMMON['batch_size']} images (about "
        f"{ROUNDS * STEPS_PER_ROUND * COMMON['batch_size'] / 50000:.0f} epochs of CIFAR-10) "
        "with 2 and 4 workers, sized for 2 cores."))
