"""What a finished course experiment hands its report: the arms and their metrics."""

from __future__ import annotations

import dataclasses
import math
import os
from typing import Dict, Mapping, Optional, Tuple

import numpy as np

from tff_course.course.arms import Arm
from tff_course.errors import ConfigError
from tff_course.experiment.metrics_file import read_metrics

DIVERGED_FILE = "diverged.txt"


@dataclasses.dataclass(frozen=True)
class ArmSummary:
  """An arm's run in numbers: the last evaluated and the best test accuracy, totals."""

  rounds: int
  test_accuracy: float
  best_test_accuracy: float
  train_loss: float
  messages: Optional[int]
  bytes_up: Optional[int]
  seconds: float


@dataclasses.dataclass(frozen=True)
class Results:
  """The run directory, the arms that ran in it, the size of each arm's test split as
  loaded (for standard errors), and the data directory the runs read."""

  run_dir: str
  arms: Tuple[Arm, ...]
  test_sizes: Mapping[str, int] = dataclasses.field(default_factory=dict)
  data_dir: Optional[str] = None

  def arm(self, key: str) -> Arm:
    """The arm named `key`."""
    for arm in self.arms:
      if arm.key == key:
        return arm
    raise KeyError(key)

  def path(self, key: str) -> str:
    """Where the arm (or a file of the report) lives in the run directory."""
    return os.path.join(self.run_dir, key)

  def metrics(self, key: str) -> Dict[str, np.ndarray]:
    """The arm's metrics columns, rounds beyond its configured count left out (a run
    dir may hold a longer earlier run)."""
    columns = read_metrics(self.path(key))
    keep = columns["round"] <= self.arm(key).rounds
    return {name: values[keep] for name, values in columns.items()}

  def test_size(self, key: str) -> int:
    """How many test examples the arm's accuracies were measured on."""
    return self.test_sizes[key]

  def summary(self, key: str) -> ArmSummary:
    """The arm's totals and final values (a diverged arm's final accuracy is NaN)."""
    if not self.diverged(key):
      return summarize_metrics(self.metrics(key))
    try:
      summary = summarize_metrics(self.metrics(key))
    except (ConfigError, IndexError):
      return ArmSummary(0, math.nan, math.nan, math.nan, None, None, 0.0)
    return dataclasses.replace(summary, test_accuracy=math.nan)

  def diverged(self, key: str) -> Optional[str]:
    """Why the arm's training stopped diverging, or None when it did not."""
    path = os.path.join(self.path(key), DIVERGED_FILE)
    if not os.path.isfile(path):
      return None
    with open(path, encoding="utf-8") as stream:
      return stream.read().strip()


def last_evaluated(values: np.ndarray) -> float:
  """The last value that is not NaN (rounds without evaluation are NaN), else NaN."""
  evaluated = values[~np.isnan(values)]
  return float(evaluated[-1]) if len(evaluated) else math.nan


def summarize_metrics(columns: Mapping[str, np.ndarray]) -> ArmSummary:
  """Sums and last values of a metrics file's columns (NaN where a column is missing)."""
  accuracy = columns.get("test_accuracy", np.array([np.nan]))
  evaluated = accuracy[~np.isnan(accuracy)]

  def total(*names) -> Optional[int]:
    if not all(name in columns for name in names):
      return None
    return int(sum(np.nansum(columns[name]) for name in names))

  loss = columns.get("train_loss", np.array([np.nan]))
  return ArmSummary(
      rounds=int(columns["round"][-1]),
      test_accuracy=last_evaluated(accuracy),
      best_test_accuracy=float(evaluated.max()) if len(evaluated) else math.nan,
      train_loss=float(loss[-1]) if len(loss) else math.nan,
      messages=total("messages_up", "messages_down"),
      bytes_up=total("bytes_up"),
      seconds=float(np.nansum(columns.get("seconds", np.array([0.0])))))
