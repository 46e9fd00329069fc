"""The `Dataset` record every data source returns."""

from __future__ import annotations

import dataclasses
import enum
from typing import Optional, Sequence

import numpy as np

from tff_course.errors import DataError


class Modality(enum.Enum):
  """What the examples are, which decides how a pipeline turns them into model inputs."""

  IMAGE = "image"  # uint8 pixels (N, H, W, C), scaled to [0, 1] for models.
  FEATURES = "features"  # float32 vectors (N, D), used as they are.
  TEXT = "text"  # int character codes (N, L) with the next character as label.


@dataclasses.dataclass(frozen=True)
class Split:
  """One split of a dataset: inputs, integer labels and, for natural data, client ids.

  Attributes:
    x: inputs, one row per example.
    y: int64 labels, shape (N,).
    client_ids: for datasets with natural clients (Shakespeare roles, synthetic
      devices), the client each example belongs to, shape (N,); otherwise None.
  """

  x: np.ndarray
  y: np.ndarray
  client_ids: Optional[np.ndarray] = None

  def __post_init__(self):
    if len(self.x) != len(self.y):
      raise ValueError(f"Split: x has {len(self.x)} rows but y has {len(self.y)}")
    if self.client_ids is not None and len(self.client_ids) != len(self.y):
      raise ValueError(
          f"Split: client_ids has {len(self.client_ids)} entries but y has {len(self.y)}")

  def __len__(self) -> int:
    return len(self.y)

  @classmethod
  def concatenate(cls, parts: Sequence[tuple]) -> "Split":
    """Joins (x, y, client_ids) triples, one per client, into one split."""
    x, y, ids = (np.concatenate(column) for column in zip(*parts))
    return cls(x=x, y=y, client_ids=ids)

  def take(self, limit: Optional[int]) -> "Split":
    """The first `limit` examples (all of them when `limit` is None)."""
    if limit is None or limit >= len(self):
      return self
    return self.rows(slice(0, limit))

  def rows(self, index) -> "Split":
    """The examples at `index` (a slice, or an array of row numbers), in that order."""
    ids = None if self.client_ids is None else self.client_ids[index]
    return Split(x=self.x[index], y=self.y[index], client_ids=ids)

  def sample(self, count: Optional[int], seed: int) -> "Split":
    """`count` examples drawn without replacement (the same ones for the same seed), kept
    in their order; all of them when `count` is None or not smaller than the split."""
    if count is None or count >= len(self):
      return self
    chosen = np.random.default_rng(seed).choice(len(self), size=count, replace=False)
    return self.rows(np.sort(chosen))


@dataclasses.dataclass(frozen=True)
class Dataset:
  """A loaded dataset with where it came from.

  Attributes:
    name: registry name, e.g. "mnist".
    train: the training split.
    test: the test split.
    label_names: one name per class index.
    modality: how inputs are encoded.
    source: where the data came from (a directory, "tensorflow-datasets", "synthetic").
    notes: anything a user should know, such as a partial file that was accepted.
  """

  name: str
  train: Split
  test: Split
  label_names: Sequence[str]
  modality: Modality
  source: str
  notes: Sequence[str] = ()

  @property
  def num_classes(self) -> int:
    return len(self.label_names)

  def describe(self) -> str:
    """A few lines a person can read: sizes, shapes, source and notes."""
    lines = [
        f"{self.name}: {len(self.train):,} train / {len(self.test):,} test examples, "
        f"{self.num_classes} classes, input shape {tuple(self.train.x.shape[1:])} "
        f"({self.modality.value}), from {self.source}"
    ]
    lines.extend(f"  note: {note}" for note in self.notes)
    return "\n".join(lines)


def check_labels(labels: np.ndarray, num_classes: int, where: str) -> np.ndarray:
  """Returns labels as int64, or raises DataError if any lies outside [0, num_classes)."""
  labels = np.asarray(labels).astype(np.int64, copy=False)
  if labels.ndim != 1:
    raise DataError(f"{where}: labels must be one-dimensional, got shape {labels.shape}")
  if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
    raise DataError(
        f"{where}: labels must lie in [0, {num_classes}), found values from "
        f"{labels.min()} to {labels.max()}")
  return labels
