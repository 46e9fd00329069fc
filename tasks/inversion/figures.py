"""Figures of an attack (measured results only): the recovered images across
iterations, the originals beside the final recovery, and the privacy-utility sweep."""

from __future__ import annotations

from typing import Dict, List, Sequence, Tuple

import numpy as np

from tff_course.atomic import atomic_path


def _figure(width: float, height: float):
  from matplotlib.backends.backend_agg import FigureCanvasAgg
  from matplotlib.figure import Figure

  figure = Figure(figsize=(width, height), layout="constrained")
  FigureCanvasAgg(figure)
  return figure


def _save(figure, path: str) -> str:
  with atomic_path(path) as temp:
    figure.savefig(temp, dpi=110)
  return path


def _show(ax, image, title: str = "") -> None:
  ax.imshow(np.clip(image, 0, 1), interpolation="nearest")
  ax.set_xticks([])
  ax.set_yticks([])
  if title:
    ax.set_title(title, fontsize=8)


def progress_grid(snapshots: Sequence[Tuple[int, np.ndarray]], path: str, *,
                  title: str = "") -> str:
  """One row per image of the batch, one column per snapshot (its step above it)."""
  batch = snapshots[0][1].shape[0]
  figure = _figure(1.2 * len(snapshots) + 0.4, 1.3 * batch + 0.5)
  axes = figure.subplots(batch, len(snapshots), squeeze=False)
  for column, (step, images) in enumerate(snapshots):
    for row in range(batch):
      _show(axes[row, column], images[row], f"step {step}" if row == 0 else "")
  if title:
    figure.suptitle(title, fontsize=9)
  return _save(figure, path)


def side_by_side(originals, recovered, order, per_image: List[Dict], path: str) -> str:
  """Each original above its matched recovered image, with MSE and labels."""
  figure = _figure(1.7 * len(originals) + 0.4, 3.8)
  axes = figure.subplots(2, len(originals), squeeze=False)
  for column, (original, index, metrics) in enumerate(zip(originals, order, per_image)):
    _show(axes[0, column], original, f"original (label {metrics['label']})")
    _show(axes[1, column], recovered[index],
          f"recovered (label {metrics['recovered_label']})\nMSE {metrics['mse']:.2g}")
  return _save(figure, path)


def tradeoff_plot(rows: List[Dict], path: str) -> str:
  """One panel per defense: reconstruction MSE (log scale, left) and the defended
  training's test accuracy (right) against the defense strength.

  Dotted lines mark the MSE below which an image counts as recovered and, when `rows`
  hold the undefended run (defense "none"), its accuracy. Every accuracy axis starts at
  0 and shares one top, so panels compare and small differences are not magnified.
  """
  from tasks.inversion.metrics import SUCCESS_MSE

  undefended = [row for row in rows if row["defense"] == "none"]
  defended = [row for row in rows if row["defense"] != "none"]
  kinds = list(dict.fromkeys(row["defense"] for row in defended))
  top = 1.15 * max(row["accuracy"] for row in rows)
  figure = _figure(4.2 * len(kinds), 3.6)
  axes = figure.subplots(1, len(kinds), squeeze=False)[0]
  for ax, kind in zip(axes, kinds):
    chosen = [row for row in defended if row["defense"] == kind]
    strengths = [row["strength"] for row in chosen]
    ax.plot(strengths, [row["mse"] for row in chosen], "o-", color="C3",
            label="reconstruction MSE")
    ax.axhline(SUCCESS_MSE, color="C3", linestyle=":", linewidth=0.8)
    ax.set_yscale("log")
    ax.set_xlabel("bits" if kind == "quantize" else
                  "fraction pruned" if kind == "prune" else "sigma")
    if kind in ("gaussian", "laplacian") and min(strengths) > 0:
      ax.set_xscale("log")
    ax.set_ylabel(f"MSE (dotted: recovered below {SUCCESS_MSE:g})", color="C3")
    accuracy = ax.twinx()
    accuracy.plot(strengths, [row["accuracy"] for row in chosen], "s--", color="C0",
                  label="test accuracy")
    if undefended:
      accuracy.axhline(undefended[0]["accuracy"], color="C0", linestyle=":", linewidth=0.8)
    accuracy.set_ylim(0, top)
    accuracy.set_ylabel("test accuracy (dotted: undefended)", color="C0")
    ax.set_title(kind)
  return _save(figure, path)
