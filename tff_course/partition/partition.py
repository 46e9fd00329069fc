"""The `Partition` record: client id -> the indices of that client's examples."""

from __future__ import annotations

from typing import Hashable, Iterator, Mapping, Optional

import numpy as np

from tff_course.data.dataset import Dataset, Split
from tff_course.errors import ConfigError

ClientId = Hashable


class Partition(Mapping):
  """An immutable map from client id to a sorted int64 array of distinct example indices.

  Attributes:
    name: how the partition was made, e.g. "dirichlet(alpha=0.1)".
    num_examples: size of the split it partitions (some examples may be left out).
    groups: client id -> group, for partitions whose clients belong to groups.
  """

  def __init__(self, clients: Mapping[ClientId, np.ndarray], *, name: str,
               num_examples: int, groups: Optional[Mapping[ClientId, int]] = None):
    self._clients = {cid: _frozen(indices) for cid, indices in clients.items()}
    self.name = name
    self.num_examples = int(num_examples)
    self.groups = None if groups is None else dict(groups)

  def __getitem__(self, client_id: ClientId) -> np.ndarray:
    return self._clients[client_id]

  def __iter__(self) -> Iterator[ClientId]:
    return iter(self._clients)

  def __len__(self) -> int:
    return len(self._clients)

  def __repr__(self) -> str:
    return (f"Partition({self.name}, {len(self)} clients, "
            f"{self.num_assigned:,} of {self.num_examples:,} examples)")

  @property
  def num_assigned(self) -> int:
    return int(sum(len(indices) for indices in self._clients.values()))

  def sizes(self) -> np.ndarray:
    """Examples per client, in iteration order."""
    return np.array([len(indices) for indices in self._clients.values()], dtype=np.int64)


def from_owner(owner: np.ndarray, num_clients: int, *, name: str,
               groups: Optional[Mapping[ClientId, int]] = None) -> Partition:
  """Builds a partition from owner[i] = client of example i (-1: example left out)."""
  order = np.argsort(owner, kind="stable")
  counts = np.bincount(owner[owner >= 0], minlength=num_clients)
  skipped = int(np.count_nonzero(owner < 0))
  pieces = np.split(order[skipped:], np.cumsum(counts)[:-1])
  return Partition(dict(enumerate(pieces)), name=name, num_examples=len(owner),
                   groups=groups)


def labels_of(data, split: str = "train") -> np.ndarray:
  """The 1-D int64 labels of a Split, of a Dataset's `split`, or of a label array."""
  if isinstance(data, Dataset):
    data = getattr(data, split)
  labels = np.asarray(data.y if isinstance(data, Split) else data)
  if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
    raise ConfigError(
        f"labels: expected a 1-D integer array (or a Split/Dataset), got "
        f"{labels.dtype} of shape {labels.shape}")
  if labels.size and labels.min() < 0:
    raise ConfigError(f"labels: got negative label {labels.min()}, expected labels >= 0")
  return labels.astype(np.int64, copy=False)


def require_positive(name: str, value) -> int:
  """Returns `value` as int, or raises ConfigError unless it is a whole number >= 1."""
  if isinstance(value, bool) or int(value) != value or value < 1:
    raise ConfigError(f"{name}: got {value!r}, expected a whole number >= 1")
  return int(value)


def _frozen(indices) -> np.ndarray:
  array = np.sort(np.asarray(indices, dtype=np.int64))
  array.setflags(write=False)
  return array
