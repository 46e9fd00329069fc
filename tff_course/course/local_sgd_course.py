"""Local SGD with H in {1, 2, 4, 8, 16} local steps between averages (H = 1 is synchronous
SGD with an all-reduce every step) and SlowMo, all at the same number of SGD steps, on K
worker processes: accuracy against communication rounds and against wall time, and where
the time goes."""

from __future__ import annotations

from typing import List, Tuple

import numpy as np

from tff_course.course import markdown
from tff_course.course.arms import Arm
from tff_course.course.distributed_runs import run_local_sgd
from tff_course.course.experiment import CourseExperiment
from tff_course.course.figures import new_figure, saved_image
from tff_course.course.questions import MEASURED, SEED_ERRORS, Answer, mean_and_error
from tff_course.course.results import Results
from tff_course.course.seed_groups import (accuracy_cell, accuracy_gap, by_group,
                                           group_accuracy, mean_curve, seed_key)
from tff_course.course.settings import FULL

LOCAL_STEPS = (1, 2, 4, 8, 16)
SLOWMO_STEPS = 8
SLOWMO_MOMENTUM = 0.6
WORKERS = 2
SEEDS = (0, 1)
FULL_SEEDS = (0, 1, 2)
STEPS = 2400
FULL_STEPS = 6400
EVALUATIONS = 8
COMMON = {"dataset": "cifar10", "model": "cifar_convnet", "workers": WORKERS, "batch_size": 32,
          "lr": 0.05, "momentum": 0.9, "outer_lr": 1.0}


def group_name(steps: int, slowmo: bool) -> str:
  return f"slowmo-h{steps}" if slowmo else f"local-h{steps}"


def label(steps: int, slowmo: bool) -> str:
  if slowmo:
    return f"SlowMo, H = {steps}, beta = {SLOWMO_MOMENTUM:g}"
  return "synchronous SGD (H = 1)" if steps == 1 else f"Local SGD, H = {steps}"


def arms(setting: str) -> List[Arm]:
  full = setting == FULL
  total = FULL_STEPS if full else STEPS
  planned = []
  for seed in FULL_SEEDS if full else SEEDS:
    for steps, slowmo in [(h, False) for h in LOCAL_STEPS] + [(SLOWMO_STEPS, True)]:
      syncs = total // steps
      settings = {**COMMON, "seed": seed,
                  "local_steps": steps, "rounds": syncs,
                  "outer_momentum": SLOWMO_MOMENTUM if slowmo else 0.0,
                  "evaluate_every": max(syncs // EVALUATIONS, 1)}
      planned.append(Arm(seed_key(group_name(steps, slowmo), seed),
                         f"{label(steps, slowmo)}, seed {seed}", settings=settings,
                         run_outside=run_local_sgd))
  return planned


def _curves_figure(results: Results) -> str:
  figure, (rounds_axis, time_axis) = new_figure(2, figsize=(10, 3.8))
  for group, keys in by_group(results).items():
    name = results.arm(keys[0]).label.rsplit(", seed", 1)[0]
    style = "--" if group.startswith("slowmo") else "-"
    for axis, x in ((rounds_axis, "round"), (time_axis, "wall_seconds")):
      xs, accuracy = mean_curve(results, keys, x)
      axis.plot(xs, 100 * accuracy, style, marker="o", markersize=3, label=name)
  rounds_axis.set_xscale("log", base=2)
  rounds_axis.set_xlabel("communication rounds (averages)")
  time_axis.set_xlabel("wall seconds of worker 0 (compute + communication)")
  for axis in (rounds_axis, time_axis):
    axis.set_ylabel("test accuracy (%)")
  rounds_axis.legend(fontsize=7)
  figure.suptitle("Local SGD at equal SGD steps: accuracy against communication and time",
                  fontsize=10)
  figure.tight_layout()
  return saved_image(results, figure, "accuracy-curves.png",
                     "test accuracy against communication rounds and wall time (mean over "
                     "seeds)")


def _time_split(results: Results, keys: List[str]) -> Tuple[float, float, float]:
  """Mean over seeds of (compute seconds, communication seconds, MB all-reduced by a
  worker) over the whole run."""
  runs = [results.metrics(key) for key in keys]
  return (float(np.mean([np.sum(r["compute_seconds"]) for r in runs])),
          float(np.mean([np.sum(r["communication_seconds"]) for r in runs])),
          float(np.mean([np.sum(r["bytes_reduced"]) for r in runs])) / 1e6)


def report(results: Results) -> List[str]:
  rows = []
  for group, keys in by_group(results).items():
    compute, communication, megabytes = _time_split(results, keys)
    rows.append((results.arm(keys[0]).label.rsplit(", seed", 1)[0],
                 results.arm(keys[0]).settings["rounds"], accuracy_cell(results, keys),
                 f"{compute:.0f}", f"{communication:.1f}",
                 f"{communication / (compute + communication):.0%}", f"{megabytes:,.0f}"))
  return ["## Final test accuracy and where the time went (mean over seeds)",
          markdown.table(("run", "averages", "final test acc. (+- s.e.)", "compute s",
                          "communication s", "communication share",
                          "MB all-reduced a worker"), rows),
          _curves_figure(results)]


def questions(results: Results) -> List[Answer]:
  groups = by_group(results)
  accuracy = {group: group_accuracy(results, keys) for group, keys in groups.items()}
  gaps = ", ".join(
      f"H = {h}: {accuracy_gap(accuracy, group_name(h, False), group_name(1, False))}"
      for h in LOCAL_STEPS[1:])
  shares = {h: _time_split(results, groups[group_name(h, False)]) for h in LOCAL_STEPS}
  saved = ", ".join(f"H = {h}: {shares[h][1]:.1f} s" for h in LOCAL_STEPS)
  slow_gap = accuracy_gap(accuracy, group_name(SLOWMO_STEPS, True),
                          group_name(SLOWMO_STEPS, False))
  speedups = mean_and_error([
      float(np.sum(results.metrics(keys_sync)["seconds"]) /
            np.sum(results.metrics(keys_local)["seconds"]))
      for keys_sync, keys_local in zip(groups[group_name(1, False)],
                                       groups[group_name(LOCAL_STEPS[-1], False)])])
  return [
      Answer("At the same number of SGD steps, what does averaging only every H steps cost "
             "in accuracy against synchronous SGD?", f"Against H = 1: {gaps}.", MEASURED),
      Answer("How much communication time does Local SGD save?",
             f"Seconds worker 0 spent in all-reduces over the run: {saved}; the run with "
             f"H = {LOCAL_STEPS[-1]} took {speedups[0]:.2f}x less wall time than H = 1 "
             f"(+- {speedups[1]:.2f}).", MEASURED),
      Answer(f"Does SlowMo's outer momentum (beta = {SLOWMO_MOMENTUM:g}, alpha = 1) help Local "
             f"SGD at H = {SLOWMO_STEPS}?", f"SlowMo minus Local SGD: {slow_gap}.", MEASURED),
  ]


EXPERIMENT = CourseExperiment(
    name="local-sgd",
    title="Local SGD and SlowMo against synchronous SGD at equal SGD steps (course CNN, "
          "CIFAR-10, 2 worker processes)",
    description=(
        f"{WORKERS} worker processes (TensorFlow's ring all-reduce on loopback) train the "
        f"course's CNN on CIFAR-10, B = {COMMON['batch_size']} a worker, SGD lr "
        f"{COMMON['lr']:g} with momentum {COMMON['momentum']:g} kept by each worker. Every "
        f"run takes {STEPS} SGD steps a worker: H = 1 averages after each step (synchronous "
        f"SGD), Local SGD with H in {set(LOCAL_STEPS[1:])} averages every H steps, SlowMo "
        f"adds an outer momentum beta = {SLOWMO_MOMENTUM:g} at H = {SLOWMO_STEPS}. Worker 0 "
        f"measures test accuracy {EVALUATIONS} times a run (outside the timed compute and "
        "communication)."),
    duration="15 min measured from a clean clone with nothing else running; --full: 6,400 "
             "steps a worker, 3 seeds, est. 1 h",
    arms=arms, report=report, questions=questions, errors=SEED_ERRORS,
    assignment=(
        "The course runs Local SGD for H in {1, 2, 4, 8, 16} against synchronous SGD at equal "
        "gradient steps and SlowMo against Local SGD; the default here trains "
        f"{STEPS} steps a worker (about 3 epochs of CIFAR-10's 50,000 images) with {WORKERS} "
        "workers, sized for 2 cores."))
