"""An asynchronous run at a glance: how stale its applied gradients were (a histogram, with
the mean) and its batches' loss against the update's place in the order applied."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from tff_course.atomic import atomic_path
from tff_course.distributed.async_sgd import AsyncStep, staleness_histogram


def draw_staleness(records: Sequence[AsyncStep], path: str, title: str = "") -> str:
  """Writes the two panels to `path`; returns it."""
  from matplotlib.backends.backend_agg import FigureCanvasAgg
  from matplotlib.figure import Figure

  figure = Figure(figsize=(9, 3.4), layout="constrained")
  FigureCanvasAgg(figure)
  left, right = figure.subplots(1, 2)
  histogram = staleness_histogram(records)
  left.bar(list(histogram), list(histogram.values()), color="C0")
  mean = float(np.mean([r.staleness for r in records]))
  left.axvline(mean, color="black", linestyle="--", linewidth=1, label=f"mean {mean:.2f}")
  left.set_xlabel("staleness (updates applied between read and update)")
  left.set_ylabel("applied gradients")
  left.legend(fontsize=8)
  ordered = sorted(records, key=lambda r: r.version)
  right.plot([r.version for r in ordered], [r.loss for r in ordered], linewidth=0.8)
  right.set_xlabel("update (in the order applied)")
  right.set_ylabel("batch loss")
  if title:
    figure.suptitle(title, fontsize=10)
  with atomic_path(path) as temp:
    figure.savefig(temp, dpi=110, format="png")
  return path
