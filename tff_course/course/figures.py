"""The curves of a course experiment's arms, drawn into its run directory."""

from __future__ import annotations

from typing import Mapping, Optional, Sequence

from tff_course.course import markdown
from tff_course.course.results import Results
from tff_course.plots import plot_runs


def arm_curves(results: Results, keys: Sequence[str], filename: str, title: str, *,
               baseline: Optional[str] = None, x: str = "round",
               xlabel: Optional[str] = None, log_x: bool = False) -> str:
  """Draws the arms' accuracy and loss curves against the metrics column `x` (and the
  difference to the `baseline` arm's test accuracy) into run_dir/filename; returns the
  markdown image."""
  path = plot_runs([results.path(key) for key in keys], results.path(filename),
                   labels=[results.arm(key).label for key in keys], title=title,
                   baseline=results.path(baseline) if baseline else None, x=x,
                   xlabel=xlabel, log_x=log_x)
  return markdown.image(results, path, title)


def new_figure(columns: int = 1, figsize=(6, 3.6)):
  """A matplotlib figure and its axes (one, or a row of `columns`), off-screen."""
  import matplotlib

  matplotlib.use("Agg")
  import matplotlib.pyplot as plt

  return plt.subplots(1, columns, figsize=figsize)


def saved_image(results: Results, figure, filename: str, caption: str) -> str:
  """Writes `figure` to run_dir/filename atomically, closes it; returns the markdown
  image."""
  import matplotlib.pyplot as plt

  from tff_course.atomic import atomic_path

  path = results.path(filename)
  with atomic_path(path) as temp:
    figure.savefig(temp, dpi=120)
  plt.close(figure)
  return markdown.image(results, path, caption)


def accuracy_histogram(results: Results, scored: Mapping[str, object], filename: str,
                       caption: str) -> str:
  """A step histogram of per-client accuracies, one outline per label of `scored`
  (label -> tff_course.experiment.client_accuracy.ClientAccuracy), as a saved image."""
  import numpy as np

  figure, axis = new_figure()
  bins = np.linspace(0, 100, 21)
  for label, accuracy in scored.items():
    axis.hist(100 * accuracy.accuracies, bins=bins, histtype="step", linewidth=1.5,
              label=label)
  axis.set_xlabel("a client's accuracy on its own held-out data (%)")
  axis.set_ylabel("clients")
  axis.legend(fontsize=8)
  figure.tight_layout()
  return saved_image(results, figure, filename, caption)
