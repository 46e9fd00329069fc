"""A stratified validation split of a training set."""

from __future__ import annotations

from typing import Tuple

import numpy as np

from tff_course.errors import ConfigError
from tff_course.partition.partition import labels_of


def stratified_split(data, validation_fraction: float, *,
                     seed: int = 0) -> Tuple[np.ndarray, np.ndarray]:
  """Splits example indices into training and validation, class proportions kept.

  Every class gives round(validation_fraction * its size) examples to validation, so
  each class's share of the validation set matches its share of the data.

  Args:
    data: labels, a Split, or a Dataset (its training split).
    validation_fraction: share of each class held out, in (0, 1).
    seed: the same seed gives the same split.

  Returns:
    (train_indices, validation_indices), sorted and disjoint, covering every example.

  Example:
    >>> train, val = stratified_split(np.array([0, 0, 0, 0, 1, 1]), 0.5)
    >>> len(train), len(val)
    (3, 3)
  """
  if not 0 < validation_fraction < 1:
    raise ConfigError(
        f"validation_fraction: got {validation_fraction}, expected a value in (0, 1)")
  labels = labels_of(data)
  rng = np.random.default_rng(seed)
  order = rng.permutation(len(labels))
  order = order[np.argsort(labels[order], kind="stable")]
  counts = np.bincount(labels)
  starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
  held = np.rint(counts * validation_fraction).astype(np.int64)
  rank = np.arange(len(labels)) - np.repeat(starts, counts)
  to_validation = rank < np.repeat(held, counts)
  return np.sort(order[~to_validation]), np.sort(order[to_validation])
