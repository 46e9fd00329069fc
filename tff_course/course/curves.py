"""Measures of a loss curve (one value per server iteration): when it first reached a
target, where it levelled off, whether it diverged."""

from __future__ import annotations

import dataclasses
import math
from typing import Optional

import numpy as np

PLATEAU_FRACTION = 0.25


def first_reach(loss: np.ndarray, target: float) -> Optional[int]:
  """The index of the first value <= target (NaN never reaches), or None."""
  reached = np.flatnonzero(np.nan_to_num(loss, nan=np.inf) <= target)
  return int(reached[0]) if len(reached) else None


@dataclasses.dataclass(frozen=True)
class Plateau:
  """The mean and standard deviation of a curve's last quarter (its last value when
  shorter), the level it settled at and how much it fluctuates there."""

  mean: float
  std: float

  def __str__(self) -> str:
    return f"{self.mean:.3f} +- {self.std:.3f}"


def plateau(loss: np.ndarray) -> Plateau:
  """The curve's plateau: its last PLATEAU_FRACTION of values, at least one."""
  window = np.asarray(loss[-max(1, int(len(loss) * PLATEAU_FRACTION)):], dtype=float)
  if not np.isfinite(window).all():
    return Plateau(math.inf, 0.0)
  return Plateau(float(window.mean()), float(window.std()))


def diverged(loss: np.ndarray) -> bool:
  """Whether the curve ends non-finite or above its first value."""
  return not math.isfinite(loss[-1]) or loss[-1] > loss[0]
