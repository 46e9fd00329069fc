"""Natural partitions: clients as the data defines them (Shakespeare roles, devices)."""

from __future__ import annotations

import numpy as np

from tff_course.data.dataset import Dataset, Split
from tff_course.errors import ConfigError
from tff_course.partition.partition import Partition


def natural_partition(data, split: str = "train") -> Partition:
  """One client per distinct client id, in order of first appearance.

  Args:
    data: a Split or Dataset with `client_ids`, or an array of client ids.
    split: which split of a Dataset.

  Raises:
    ConfigError: the data has no natural clients.
  """
  if isinstance(data, Dataset):
    data = getattr(data, split)
  ids = data.client_ids if isinstance(data, Split) else data
  if ids is None:
    raise ConfigError(
        "partition: this dataset has no natural clients; choose iid, shards, classes, "
        "dirichlet or groups")
  ids = np.asarray(ids)
  unique, first, inverse = np.unique(ids, return_index=True, return_inverse=True)
  order = np.argsort(first, kind="stable")
  members = np.argsort(inverse, kind="stable")
  pieces = np.split(members, np.cumsum(np.bincount(inverse))[:-1])
  clients = {_plain(unique[k]): pieces[k] for k in order}
  return Partition(clients, name="natural", num_examples=len(ids))


def _plain(value):
  return value.item() if isinstance(value, np.generic) else value
