"""Figures from run directories' metrics files (never from live objects).

`plot_runs` draws test and train accuracy and loss against rounds (or another metrics
column, such as gradient_steps), one line per run (a run directory holding seed-N
subdirectories is drawn as its mean with a band of one standard deviation), a panel of
per-group test accuracy when runs have groups, and a panel of each run's test accuracy
minus a baseline run's.
"""

from __future__ import annotations

import os
from typing import Optional, Sequence, Tuple

import numpy as np

from tff_course.atomic import atomic_path
from tff_course.errors import ConfigError
from tff_course.experiment.metrics_file import read_run

PANELS = (("test_accuracy", "test accuracy"), ("test_loss", "test loss"),
          ("train_accuracy", "train accuracy"), ("train_loss", "train loss"))


def plot_runs(run_dirs: Sequence[str], path: str, *, baseline: Optional[str] = None,
              labels: Optional[Sequence[str]] = None, title: str = "", x: str = "round",
              xlabel: Optional[str] = None, log_x: bool = False) -> str:
  """Draws the runs' curves against the metrics column `x` (on a log scale when `log_x`)
  into a PNG at `path`; returns `path`."""
  from matplotlib.backends.backend_agg import FigureCanvasAgg
  from matplotlib.figure import Figure

  if not run_dirs:
    raise ConfigError("plot: give at least one run directory")
  labels = list(labels or [os.path.basename(os.path.normpath(d)) for d in run_dirs])
  runs = [read_run(d) for d in run_dirs]
  for run_dir, run in zip(run_dirs, runs):
    if any(x not in seed for seed in run):
      raise ConfigError(f"plot: x={x!r} is not a column of {run_dir}'s metrics")
  base = read_run(baseline) if baseline else None
  groups = sorted({c for run in runs for seed in run for c in seed
                   if c.startswith("test_group_")})
  panels = list(PANELS) + ([("groups", "test accuracy per group")] if groups else []) + \
      ([("baseline", f"test accuracy minus {os.path.basename(os.path.normpath(baseline))}")]
       if base else [])
  columns = 2 if len(panels) <= 4 else 3
  rows = int(np.ceil(len(panels) / columns))
  figure = Figure(figsize=(5.2 * columns, 3.8 * rows), layout="constrained")
  FigureCanvasAgg(figure)
  axes = figure.subplots(rows, columns, squeeze=False).ravel()
  for ax, (key, name) in zip(axes, panels):
    for index, (run, label) in enumerate(zip(runs, labels)):
      color = f"C{index % 10}"
      if key == "groups":
        for style, column in zip(("-", "--", ":", "-."), groups):
          _line(ax, run, column, f"{label} {column[len('test_group_'):-len('_accuracy')]}",
                color, style, x)
      elif key == "baseline":
        _difference(ax, run, base, label, color, x)
      else:
        _line(ax, run, key, label, color, x=x)
    ax.set_title(name)
    ax.set_xlabel(xlabel or x.replace("_", " "))
    if log_x:
      ax.set_xscale("log")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
  for ax in axes[len(panels):]:
    ax.set_visible(False)
  if title:
    figure.suptitle(title)
  with atomic_path(path) as temp:
    figure.savefig(temp, dpi=110, format="png")
  return path


def plot_lines(lines: Sequence[Tuple[str, str, str]], path: str, *, ylabel: str,
               title: str = "", xlabel: str = "round") -> str:
  """One panel: a line per (run directory, metrics column, label); returns `path`."""
  from matplotlib.backends.backend_agg import FigureCanvasAgg
  from matplotlib.figure import Figure

  if not lines:
    raise ConfigError("plot: give at least one line")
  figure = Figure(figsize=(6.4, 4.2), layout="constrained")
  FigureCanvasAgg(figure)
  ax = figure.subplots()
  for index, (run_dir, column, label) in enumerate(lines):
    _line(ax, read_run(run_dir), column, label, f"C{index % 10}")
  ax.set_xlabel(xlabel)
  ax.set_ylabel(ylabel)
  ax.set_title(title)
  ax.grid(alpha=0.3)
  ax.legend(fontsize="small")
  with atomic_path(path) as temp:
    figure.savefig(temp, dpi=110, format="png")
  return path


def _series(run, column, x="round"):
  rounds = run[0][x]
  values = np.array([seed.get(column, np.full(len(rounds), np.nan))[:len(rounds)]
                     for seed in run])
  keep = ~np.isnan(values).all(axis=0)
  return rounds[keep], values[:, keep]


def _line(ax, run, column, label, color, style="-", x="round"):
  rounds, values = _series(run, column, x)
  if not len(rounds):
    return
  mean = values.mean(axis=0)
  ax.plot(rounds, mean, style, color=color, label=label + (f" (n={len(run)})"
                                                           if len(run) > 1 else ""))
  if len(run) > 1:
    std = values.std(axis=0)
    ax.fill_between(rounds, mean - std, mean + std, color=color, alpha=0.2)


def _difference(ax, run, base, label, color, x="round"):
  rounds, values = _series(run, "test_accuracy", x)
  base_rounds, base_values = _series(base, "test_accuracy", x)
  shared, mine, theirs = np.intersect1d(rounds, base_rounds, return_indices=True)
  if len(shared):
    ax.plot(shared, values.mean(axis=0)[mine] - base_values.mean(axis=0)[theirs],
            color=color, label=label)
    ax.axhline(0, color="black", linewidth=0.8)
