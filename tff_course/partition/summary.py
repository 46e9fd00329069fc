"""Statistics of a partition: clients, examples and classes per client, per group."""

from __future__ import annotations

import dataclasses
from typing import Optional, Sequence, Tuple

import numpy as np

from tff_course.partition.partition import Partition, labels_of


@dataclasses.dataclass(frozen=True)
class PartitionSummary:
  """A partition's client x class counts and the statistics derived from them.

  Attributes:
    name: the partition's name.
    client_ids: clients in partition order.
    counts: int64 (clients, classes): examples of each class at each client.
    num_examples: size of the partitioned split.
    label_names: one name per class column.
    groups: each client's group, or None.
  """

  name: str
  client_ids: Tuple
  counts: np.ndarray
  num_examples: int
  label_names: Tuple[str, ...]
  groups: Optional[Tuple] = None

  @property
  def sizes(self) -> np.ndarray:
    return self.counts.sum(axis=1)

  @property
  def classes_per_client(self) -> np.ndarray:
    return np.count_nonzero(self.counts, axis=1)

  def to_dict(self) -> dict:
    """Statistics as plain JSON-ready values (the full matrix is left out)."""
    sizes = self.sizes
    result = {
        "partition": self.name,
        "clients": len(self.client_ids),
        "examples_assigned": int(sizes.sum()),
        "examples_in_split": self.num_examples,
        "empty_clients": int(np.count_nonzero(sizes == 0)),
        "examples_per_client": _stats(sizes),
        "classes_per_client": _stats(self.classes_per_client),
    }
    if self.groups is not None:
      result["groups"] = self._group_stats()
    return result

  def format(self, max_rows: int = 8) -> str:
    """A short report a person can read in a terminal."""
    info = self.to_dict()
    lines = [
        f"partition: {self.name}: {info['clients']:,} clients, "
        f"{info['examples_assigned']:,} of {self.num_examples:,} examples assigned"
        + (f", {info['empty_clients']:,} empty clients" if info["empty_clients"] else ""),
        "examples per client: " + _format_stats(info["examples_per_client"]),
        "classes per client:  " + _format_stats(info["classes_per_client"]),
    ]
    for group, stats in (info.get("groups") or {}).items():
      lines.append(f"group {group}: {stats['clients']:,} clients, "
                   f"{stats['examples']:,} examples, classes {stats['classes']}")
    lines.append(self._client_table(max_rows))
    return "\n".join(lines)

  def _group_stats(self) -> dict:
    groups = np.asarray(self.groups, dtype=object)
    result = {}
    for group in dict.fromkeys(self.groups):
      rows = self.counts[groups == group]
      result[str(group)] = {"clients": int(len(rows)), "examples": int(rows.sum()),
                            "classes": np.flatnonzero(rows.sum(axis=0)).tolist()}
    return result

  def _client_table(self, max_rows: int) -> str:
    shown = min(max_rows, len(self.client_ids))
    lines = [f"first {shown} clients (id: examples, largest classes):"]
    for row in range(shown):
      counts = self.counts[row]
      top = np.argsort(-counts, kind="stable")[:3]
      largest = ", ".join(f"{self.label_names[c]!r} {counts[c]}" for c in top if counts[c])
      lines.append(f"  {self.client_ids[row]}: {counts.sum():,} ({largest})")
    return "\n".join(lines)


def summarize(partition: Partition, data, label_names: Optional[Sequence[str]] = None
              ) -> PartitionSummary:
  """Counts each client's examples per class.

  Args:
    partition: the partition.
    data: the labels it partitions (array, Split or Dataset's training split).
    label_names: class names; defaults to "0", "1", ...
  """
  labels = labels_of(data)
  num_classes = len(label_names) if label_names else int(labels.max(initial=-1)) + 1
  sizes = partition.sizes()
  rows = np.repeat(np.arange(len(partition)), sizes)
  indices = (np.concatenate(list(partition.values())) if len(partition)
             else np.zeros(0, np.int64))
  counts = np.bincount(rows * num_classes + labels[indices],
                       minlength=len(partition) * num_classes)
  groups = (None if partition.groups is None
            else tuple(partition.groups[cid] for cid in partition))
  names = tuple(label_names) if label_names else tuple(str(c) for c in range(num_classes))
  return PartitionSummary(name=partition.name, client_ids=tuple(partition),
                          counts=counts.reshape(len(partition), num_classes),
                          num_examples=partition.num_examples, label_names=names,
                          groups=groups)


def _stats(values: np.ndarray) -> dict:
  if values.size == 0:
    return {"min": 0, "median": 0.0, "mean": 0.0, "max": 0, "std": 0.0}
  return {"min": int(values.min()), "median": float(np.median(values)),
          "mean": float(values.mean()), "max": int(values.max()),
          "std": float(values.std())}


def _format_stats(stats: dict) -> str:
  return (f"min {stats['min']:,}  median {stats['median']:,.1f}  mean "
          f"{stats['mean']:,.1f}  max {stats['max']:,}  std {stats['std']:,.1f}")
