"""A run directory's metrics file (one row per round), read back as columns.

The runner writes it (`releases.py`); `plots`, course reports and resuming read it.
"""

from __future__ import annotations

import csv
import glob
import os
from typing import Dict, List

import numpy as np

from tff_course.errors import ConfigError

METRICS_FILE = "metrics.csv"


def read_metrics(run_dir: str) -> Dict[str, np.ndarray]:
  """Column -> float array (NaN where a round has no value, e.g. no evaluation)."""
  path = os.path.join(run_dir, METRICS_FILE)
  if not os.path.isfile(path):
    raise ConfigError(f"{run_dir}: no {METRICS_FILE} (is it a run directory of "
                      f"'tff-course train'?)")
  with open(path, newline="", encoding="utf-8") as stream:
    rows = list(csv.DictReader(stream))
  if not rows:
    raise ConfigError(f"{path}: no rounds recorded yet")
  return {name: np.array([_number(row.get(name)) for row in rows])
          for name in rows[0].keys()}


def read_run(run_dir: str) -> List[Dict[str, np.ndarray]]:
  """The metrics of a run, or of each seed-N subdirectory of a multi-seed run."""
  seeds = sorted(glob.glob(os.path.join(glob.escape(run_dir), "seed-*")))
  if seeds and not os.path.isfile(os.path.join(run_dir, METRICS_FILE)):
    return [read_metrics(seed) for seed in seeds]
  return [read_metrics(run_dir)]


def _number(text) -> float:
  try:
    return float(text)
  except (TypeError, ValueError):
    return float("nan")
