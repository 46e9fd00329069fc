"""McMahan et al.'s pathological non-IID partition by label shards.

McMahan et al., "Communication-Efficient Learning of Deep Networks from Decentralized
Data" (AISTATS 2017): sort the examples by label, cut them into shards of equal size
and give each client `shards_per_client` shards at random (2 shards of 300 MNIST
digits each for 100 clients), so most clients see only two classes.
"""

from __future__ import annotations

import numpy as np

from tff_course.errors import ConfigError
from tff_course.partition.partition import Partition, from_owner, labels_of, require_positive


def shard_partition(dataset, num_clients: int, shards_per_client: int = 2, *,
                    seed: int = 0) -> Partition:
  """Sorts by label, cuts equal shards, deals `shards_per_client` of them to each client.

  When the split does not divide evenly into num_clients * shards_per_client shards,
  the remainder (fewer examples than one shard per client) is left out, drawn at random.

  Args:
    dataset: labels, a Split, or a Dataset (its training split).
    num_clients: number of clients.
    shards_per_client: shards per client (2 in the paper).
    seed: the same seed gives the same partition.
  """
  labels = labels_of(dataset)
  num_clients = require_positive("num_clients", num_clients)
  shards_per_client = require_positive("shards_per_client", shards_per_client)
  num_shards = num_clients * shards_per_client
  shard_size = len(labels) // num_shards
  if shard_size == 0:
    raise ConfigError(
        f"num_clients: {num_clients} clients x {shards_per_client} shards need at least "
        f"{num_shards:,} examples, the split holds {len(labels):,}")
  rng = np.random.default_rng(seed)
  kept = rng.permutation(len(labels))[:num_shards * shard_size]
  by_label = kept[np.argsort(labels[kept], kind="stable")]
  shard_owner = np.empty(num_shards, dtype=np.int64)
  shard_owner[rng.permutation(num_shards)] = np.arange(num_shards) // shards_per_client
  owner = np.full(len(labels), -1, dtype=np.int64)
  owner[by_label] = np.repeat(shard_owner, shard_size)
  return from_owner(owner, num_clients, name=f"shards({shards_per_client} per client)")
