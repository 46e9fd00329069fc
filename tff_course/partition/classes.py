"""Label skew by class count: each client holds examples of exactly N classes.

The "#C = k" partition of Li et al., "Federated Learning on Non-IID Data Silos: An
Experimental Study" (ICDE 2022). Classes are dealt round a shuffled class list, so
every class is held by as many clients as possible (num_clients * N / num_classes,
give or take one); each class's examples are then shared equally among its holders.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from tff_course.errors import ConfigError
from tff_course.partition.partition import Partition, from_owner, labels_of, require_positive


def n_class_partition(dataset, num_clients: int, classes_per_client: int,
                      samples_per_client: Optional[int] = None, *,
                      seed: int = 0) -> Partition:
  """Gives every client examples of exactly `classes_per_client` distinct classes.

  Args:
    dataset: labels, a Split, or a Dataset (its training split).
    num_clients: number of clients.
    classes_per_client: N, e.g. 1, 5, 10 or 50 of CIFAR-100's 100 classes.
    samples_per_client: examples per client, spread evenly over its classes; None
      shares out every example of every class that some client holds.
    seed: the same seed gives the same partition.

  Raises:
    ConfigError: N exceeds the classes present, or a class has too few examples for
      the clients that hold it.
  """
  labels = labels_of(dataset)
  num_clients = require_positive("num_clients", num_clients)
  per_client = require_positive("classes_per_client", classes_per_client)
  present = np.unique(labels)
  if per_client > len(present):
    raise ConfigError(
        f"classes_per_client: got {per_client}, but the split has only {len(present)} "
        f"classes")
  if samples_per_client is not None:
    require_positive("samples_per_client", samples_per_client)
    if samples_per_client < per_client:
      raise ConfigError(
          f"samples_per_client: got {samples_per_client}, expected at least one example "
          f"for each of the {per_client} classes")
  rng = np.random.default_rng(seed)
  deck = rng.permutation(present)
  slots = np.arange(num_clients * per_client)
  slot_class = deck[slots % len(present)]
  slot_client = slots // per_client
  slot_quota = _slot_quotas(samples_per_client, num_clients, per_client)
  owner = np.full(len(labels), -1, dtype=np.int64)
  for cls in present:
    holders = slot_client[slot_class == cls]
    if len(holders) == 0:
      continue
    members = rng.permutation(np.flatnonzero(labels == cls))
    quotas = (_even(len(members), len(holders)) if slot_quota is None
              else slot_quota[slot_class == cls])
    if quotas.sum() > len(members) or quotas.min() < 1:
      raise ConfigError(
          f"classes_per_client: class {cls} has {len(members):,} examples but its "
          f"{len(holders)} clients need {max(quotas.sum(), len(holders)):,}; use fewer "
          f"clients, fewer classes per client or fewer samples per client")
    owner[members[:quotas.sum()]] = np.repeat(holders, quotas)
  return from_owner(owner, num_clients, name=f"{per_client} classes per client")


def _even(total: int, parts: int) -> np.ndarray:
  return total // parts + (np.arange(parts) < total % parts)


def _slot_quotas(samples_per_client: Optional[int], num_clients: int,
                 per_client: int) -> Optional[np.ndarray]:
  if samples_per_client is None:
    return None
  return np.tile(_even(samples_per_client, per_client), num_clients)
