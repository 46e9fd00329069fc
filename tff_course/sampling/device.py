"""A federated device (client): its id, group, example indices and tf.data pipeline."""

from __future__ import annotations

import dataclasses
from typing import Any, Dict, Hashable, List, Optional, Sequence

import numpy as np

from tff_course.data.dataset import Dataset
from tff_course.data.pipeline import make_tf_dataset
from tff_course.errors import ConfigError
from tff_course.partition.partition import Partition


@dataclasses.dataclass(frozen=True)
class Device:
  """One client of a federation.

  Attributes:
    id: the client id from the partition.
    group: its group, or None when the partition has no groups.
    indices: its example indices into the split.
    dataset: a batched tf.data pipeline of (inputs, labels) over those examples, or
      None where a runner builds one per round.
  """

  id: Hashable
  group: Optional[Any]
  indices: np.ndarray
  dataset: Any

  @property
  def num_examples(self) -> int:
    return len(self.indices)


def create_device(device_id: Hashable, dataset: Dataset, indices, *, split: str = "train",
                  group: Optional[Any] = None, batch_size: Optional[int] = 32,
                  shuffle_seed: Optional[int] = 0) -> Device:
  """Builds a device over `indices` of `dataset`'s `split`.

  Args:
    device_id: the client id.
    dataset: the dataset the indices point into.
    indices: the device's example indices.
    split: "train" or "test".
    group: the device's group, if any.
    batch_size: local batch size B; None for full batch.
    shuffle_seed: seed of the per-epoch reshuffle; None keeps the stored order.

  Raises:
    ConfigError: no indices, indices out of range, or a bad batch size.
  """
  if split not in ("train", "test"):
    raise ConfigError(f"split: got {split!r}, expected 'train' or 'test'")
  data = getattr(dataset, split)
  indices = np.asarray(indices, dtype=np.int64)
  if indices.size == 0:
    raise ConfigError(f"indices: device {device_id!r} has no examples")
  if indices.min() < 0 or indices.max() >= len(data):
    raise ConfigError(
        f"indices: device {device_id!r} has indices from {indices.min()} to "
        f"{indices.max()}, expected 0 to {len(data) - 1} ({dataset.name} {split})")
  if batch_size is not None and (isinstance(batch_size, bool) or batch_size < 1):
    raise ConfigError(f"batch_size: got {batch_size!r}, expected >= 1 or None (full batch)")
  pipeline = make_tf_dataset(data.x[indices], data.y[indices], dataset.modality,
                             batch_size=batch_size, shuffle_seed=shuffle_seed)
  return Device(id=device_id, group=group, indices=indices, dataset=pipeline)


def create_devices(dataset: Dataset, partition: Partition, *, split: str = "train",
                   batch_size: Optional[int] = 32, seed: int = 0) -> List[Device]:
  """One device per non-empty client of `partition`, groups carried over.

  Each device reshuffles with its own seed derived from `seed` and its position.
  """
  groups = partition.groups or {}
  return [create_device(client_id, dataset, indices, split=split,
                        group=groups.get(client_id), batch_size=batch_size,
                        shuffle_seed=seed * 1_000_003 + position)
          for position, (client_id, indices) in enumerate(partition.items())
          if len(indices)]


def group_indices(devices: Sequence[Device]) -> Dict[object, int]:
  """Group label -> index 0..G-1 over the devices' groups, in sorted label order."""
  return {group: index for index, group in enumerate(sorted({d.group for d in devices}))}
