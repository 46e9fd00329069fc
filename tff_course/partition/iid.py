"""IID partition: each client draws its examples uniformly, without replacement."""

from __future__ import annotations

from typing import Optional

import numpy as np

from tff_course.errors import ConfigError
from tff_course.partition.partition import Partition, from_owner, labels_of, require_positive


def iid_sampler(dataset, num_clients: int, samples_per_client: Optional[int] = None, *,
                seed: int = 0) -> Partition:
  """Gives each of `num_clients` clients `samples_per_client` examples drawn at random.

  Args:
    dataset: labels, a Split, or a Dataset (its training split).
    num_clients: number of clients.
    samples_per_client: examples per client; None divides the whole split equally
      (the remainder of the division is left out).
    seed: the same seed gives the same partition.

  Raises:
    ConfigError: more examples requested than the split holds.
  """
  labels = labels_of(dataset)
  num_clients = require_positive("num_clients", num_clients)
  if samples_per_client is None:
    samples_per_client = len(labels) // num_clients
  samples_per_client = require_positive("samples_per_client", samples_per_client)
  needed = num_clients * samples_per_client
  if needed > len(labels):
    raise ConfigError(
        f"samples_per_client: {num_clients} clients x {samples_per_client} examples "
        f"= {needed:,}, but the split holds {len(labels):,}")
  chosen = np.random.default_rng(seed).permutation(len(labels))[:needed]
  owner = np.full(len(labels), -1, dtype=np.int64)
  owner[chosen] = np.arange(needed) // samples_per_client
  return from_owner(owner, num_clients, name="iid")
