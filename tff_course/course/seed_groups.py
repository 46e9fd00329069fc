"""Arms that repeat one setting over seeds: keys NAME-sSEED, grouped back by NAME."""

from __future__ import annotations

from typing import Dict, List, Tuple

from tff_course.course import markdown
from tff_course.course.questions import accuracy_standard_error, mean_and_error
from tff_course.course.results import Results


def seed_key(name: str, seed: int) -> str:
  return f"{name}-s{seed}"


def group_of(key: str) -> str:
  """"least-sensitive-s1" -> "least-sensitive"."""
  return key.rsplit("-s", 1)[0]


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
