"""Arms that repeat one setting over seeds: keys NAME-sSEED, grouped back by NAME."""

from __future__ import annotations

from typing import Callable, Dict, List, Mapping, Sequence, Tuple

import numpy as np

from tff_course.course import markdown
from tff_course.course.arms import Arm
from tff_course.course.questions import accuracy_standard_error, mean_and_error, plus_minus
from tff_course.course.results import Results


def seed_key(name: str, seed: int) -> str:
  return f"{name}-s{seed}"


def method_seed_arms(methods: Mapping[str, Tuple[str, object]], seeds: Sequence[int],
                     config_for: Callable) -> List[Arm]:
  """One arm per seed and method (seeds outer): key "METHOD-sSEED", label "LABEL, seed
  SEED", config `config_for(key, method, seed)`; `methods` maps a method to (label, ...)."""
  return [Arm(seed_key(method, seed), f"{label}, seed {seed}",
              config_for(seed_key(method, seed), method, seed))
          for seed in seeds for method, (label, _) in methods.items()]


def group_of(key: str) -> str:
  """"least-sensitive-s1" -> "least-sensitive"."""
  return key.rsplit("-s", 1)[0]


def seed_of(key: str) -> int:
  """"least-sensitive-s1" -> 1."""
  return int(key.rsplit("-s", 1)[1])


def by_group(results: Results) -> Dict[str, List[str]]:
  """Setting name -> the keys of its arms (one per seed), in the arms' order."""
  grouped: Dict[str, List[str]] = {}
  for arm in results.arms:
    grouped.setdefault(group_of(arm.key), []).append(arm.key)
  return grouped


def group_accuracy(results: Results, keys: List[str]) -> Tuple[float, float]:
  """The arms' mean final test accuracy and its standard error over seeds (of one arm:
  the binomial standard error of its test set)."""
  if len(keys) == 1:
    accuracy = results.summary(keys[0]).test_accuracy
    return accuracy, accuracy_standard_error(accuracy, results.test_size(keys[0]))
  return mean_and_error([results.summary(key).test_accuracy for key in keys])


def accuracy_cell(results: Results, keys: List[str]) -> str:
  """"88.49 % +- 0.2" (mean +- standard error), or "diverged (1 of 2 seeds)"."""
  diverged = sum(1 for key in keys if results.diverged(key))
  if diverged:
    return f"diverged ({diverged} of {len(keys)} seed{'s' if len(keys) > 1 else ''})"
  accuracy, error = group_accuracy(results, keys)
  return f"{markdown.percent(accuracy)} +- {100 * error:.1f}"


def evaluated_rows(results: Results, key: str) -> Dict[str, np.ndarray]:
  """The arm's metrics rows that have a test accuracy, with the cumulative seconds as
  "wall_seconds" (and the cumulative bytes_up as "uploaded", where it is recorded)."""
  columns = results.metrics(key)
  columns = {**columns, "wall_seconds": np.cumsum(columns["seconds"])}
  if "bytes_up" in columns:
    columns["uploaded"] = np.cumsum(np.nan_to_num(columns["bytes_up"]))
  measured = ~np.isnan(columns["test_accuracy"])
  return {name: values[measured] for name, values in columns.items()}


def mean_curve(results: Results, keys: List[str], x: str) -> Tuple[np.ndarray, np.ndarray]:
  """The seeds' mean test accuracy at each evaluation, against the seeds' mean column `x`
  (of `evaluated_rows`), cut to the shortest seed."""
  curves = [evaluated_rows(results, key) for key in keys]
  length = min(len(curve["round"]) for curve in curves)
  return (np.mean([curve[x][:length] for curve in curves], axis=0),
          np.mean([curve["test_accuracy"][:length] for curve in curves], axis=0))


def accuracy_gap(accuracy: Dict[str, Tuple[float, float]], group: str, reference: str) -> str:
  """"+1.23 pt +- 0.45 pt": the group's mean accuracy minus the reference's (accuracy:
  group -> `group_accuracy`)."""
  (mean, error), (base, base_error) = accuracy[group], accuracy[reference]
  return plus_minus(mean - base, float(np.hypot(error, base_error)))
