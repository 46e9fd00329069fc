"""Group non-IID partitions: each group of devices owns a set of classes.

Devices of a group hold examples of their group's classes only, IID within the
group; the test split is cut the same way, so accuracy can be reported per group
(the setting of the course's fairness experiment: do groups that take part less
often get a worse model?).
"""

from __future__ import annotations

from typing import Dict, Iterable, Mapping

import numpy as np

from tff_course.errors import ConfigError
from tff_course.partition.partition import Partition, from_owner, labels_of, require_positive


def validate_groups(group_to_classes: Mapping[int, Iterable[int]],
                    labels: np.ndarray) -> Dict[int, np.ndarray]:
  """Checks that groups are non-empty, disjoint, and cover every class in `labels`.

  Returns:
    group -> sorted class array.

  Raises:
    ConfigError: a group has no classes, two groups share a class, or a class of the
      data belongs to no group.
  """
  if not group_to_classes:
    raise ConfigError("group_to_classes: got no groups, expected at least one")
  groups = {group: np.unique(np.asarray(list(classes), dtype=np.int64))
            for group, classes in group_to_classes.items()}
  owner_of: Dict[int, object] = {}
  for group, classes in groups.items():
    if classes.size == 0:
      raise ConfigError(f"group_to_classes: group {group!r} has no classes")
    for cls in classes.tolist():
      if cls in owner_of:
        raise ConfigError(
            f"group_to_classes: class {cls} is in group {owner_of[cls]!r} and in group "
            f"{group!r}; each class must belong to exactly one group")
      owner_of[cls] = group
  missing = sorted(set(np.unique(labels).tolist()) - set(owner_of))
  if missing:
    raise ConfigError(
        f"group_to_classes: classes {missing} of the data belong to no group; add them "
        f"to a group")
  return groups


def noniid_group_sampler(dataset, samples_per_client: int,
                         group_to_classes: Mapping[int, Iterable[int]], *,
                         seed: int = 0) -> Partition:
  """Cuts each group's examples into devices of `samples_per_client`, IID in the group.

  Each group gives len(group's examples) // samples_per_client devices; the remainder
  is left out. Device ids run over groups in order.

  Args:
    dataset: labels, a Split, or a Dataset (its training split).
    samples_per_client: examples per device.
    group_to_classes: group -> its classes, disjoint and covering every class.
    seed: the same seed gives the same partition.

  Returns:
    A partition whose `groups` maps each device to its group.

  Raises:
    ConfigError: invalid groups, or a group with too few examples for one device.
  """
  labels = labels_of(dataset)
  samples_per_client = require_positive("samples_per_client", samples_per_client)
  groups = validate_groups(group_to_classes, labels)
  rng = np.random.default_rng(seed)
  owner = np.full(len(labels), -1, dtype=np.int64)
  device_group = []
  for group, classes in groups.items():
    members = rng.permutation(np.flatnonzero(np.isin(labels, classes)))
    num_devices = len(members) // samples_per_client
    if num_devices == 0:
      raise ConfigError(
          f"samples_per_client: group {group!r} (classes {classes.tolist()}) has "
          f"{len(members):,} examples, fewer than one device's {samples_per_client}")
    used = num_devices * samples_per_client
    owner[members[:used]] = len(device_group) + np.arange(used) // samples_per_client
    device_group.extend([group] * num_devices)
  return from_owner(owner, len(device_group), name="group non-IID",
                    groups=dict(enumerate(device_group)))


def cifar_noniid_group_test(test_dataset, group_to_classes: Mapping[int, Iterable[int]]
                            ) -> Partition:
  """Each group's test examples: those whose class the group owns.

  Args:
    test_dataset: labels, a Split, or a Dataset (its test split).
    group_to_classes: the mapping used for training.

  Returns:
    A partition keyed by group (each group its own client), with `groups` the identity.
  """
  labels = labels_of(test_dataset, split="test")
  groups = validate_groups(group_to_classes, labels)
  clients = {group: np.flatnonzero(np.isin(labels, classes))
             for group, classes in groups.items()}
  return Partition(clients, name="group test", num_examples=len(labels),
                   groups={group: group for group in groups})


def parse_groups(text: str) -> Dict[int, list]:
  """Parses "0,1,2;3,4,5;6,7,8,9" into {0: [0, 1, 2], 1: [3, 4, 5], 2: [6, 7, 8, 9]}."""
  groups = {}
  for number, part in enumerate(text.split(";")):
    try:
      groups[number] = [int(cls) for cls in part.split(",") if cls.strip()]
    except ValueError:
      raise ConfigError(
          f"groups: got {text!r}, expected class numbers separated by commas, groups "
          f"separated by semicolons, e.g. '0,1,2;3,4,5;6,7,8,9'") from None
  return groups
