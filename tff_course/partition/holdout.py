"""Each client's own held-out examples: a seeded share of every client's indices kept out
of training, to score a model on each client's data (personalization and client
selection are judged by the spread of those per-client accuracies)."""

from __future__ import annotations

from typing import Tuple

import numpy as np

from tff_course.data.dataset import Split
from tff_course.errors import ConfigError
from tff_course.partition.partition import Partition


def held_out_count(size: int, fraction: float) -> int:
  """How many of a client's `size` examples are held out: round(fraction x size), at
  least 1 and at most size - 1 (a one-example client keeps its example for training)."""
  if size < 2:
    return 0
  return int(min(max(round(fraction * size), 1), size - 1))


def hold_out(partition: Partition, fraction: float, seed: int) -> Tuple[Partition, Partition]:
  """(training partition, held-out partition): each client's indices split at random
  (one seeded draw, clients in the partition's order) with `held_out_count` held out.

  Raises:
    ConfigError: `fraction` is not in (0, 1).
  """
  if isinstance(fraction, bool) or not 0 < fraction < 1:
    raise ConfigError(f"data.client_holdout: got {fraction!r}, expected a fraction in (0, 1) "
                      f"of each client's examples to hold out, or 0 for none")
  rng = np.random.default_rng(seed)
  kept, held = {}, {}
  for client, indices in partition.items():
    shuffled = rng.permutation(indices)
    count = held_out_count(len(indices), fraction)
    kept[client] = np.sort(shuffled[count:])
    held[client] = np.sort(shuffled[:count])
  name = f"{partition.name}, {fraction:g} held out"
  return (Partition(kept, name=name, num_examples=partition.num_examples,
                    groups=partition.groups),
          Partition(held, name=f"held out of {partition.name}",
                    num_examples=partition.num_examples, groups=partition.groups))


def client_split(split: Split, held: Partition) -> Split:
  """The held-out examples of `split` as one split whose client_ids say whose they are."""
  clients = [client for client in held if len(held[client])]
  if not clients:
    return Split(x=split.x[:0], y=split.y[:0], client_ids=np.zeros(0, np.int64))
  indices = np.concatenate([held[client] for client in clients])
  owners = np.concatenate([np.full(len(held[client]), position)
                           for position, client in enumerate(clients)])
  ids = np.asarray(clients)[owners]
  return Split(x=split.x[indices], y=split.y[indices], client_ids=ids)
