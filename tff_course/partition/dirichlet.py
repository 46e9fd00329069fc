"""Dirichlet label skew.

Hsu, Qi, Brown, "Measuring the Effects of Non-Identical Data Distribution for Federated
Visual Classification" (2019), in the per-class form of Yurochkin et al. (ICML 2019)
and Wang et al. (ICLR 2020): for each class, client shares p ~ Dir(alpha * 1) split
that class's examples. Small alpha (0.1) gives each client few classes; large alpha
(100) approaches IID.
"""

from __future__ import annotations

import numpy as np

from tff_course.errors import ConfigError
from tff_course.partition.partition import Partition, from_owner, labels_of, require_positive

MAX_ATTEMPTS = 100


def dirichlet_partition(dataset, num_clients: int, alpha: float, *, min_size: int = 1,
                        seed: int = 0) -> Partition:
  """Splits each class among all clients in Dirichlet(alpha) proportions.

  Draws are repeated (up to 100 times, deterministically from `seed`) until every
  client has at least `min_size` examples.

  Args:
    dataset: labels, a Split, or a Dataset (its training split).
    num_clients: number of clients.
    alpha: concentration, > 0.
    min_size: the fewest examples a client may end up with (0 allows empty clients).
    seed: the same seed gives the same partition.

  Raises:
    ConfigError: alpha <= 0, or no draw met `min_size`.
  """
  labels = labels_of(dataset)
  num_clients = require_positive("num_clients", num_clients)
  if not alpha > 0:
    raise ConfigError(f"alpha: got {alpha}, expected a concentration > 0")
  if min_size < 0 or min_size * num_clients > len(labels):
    raise ConfigError(
        f"min_size: got {min_size}, expected 0 to {len(labels) // num_clients} for "
        f"{len(labels):,} examples over {num_clients} clients")
  rng = np.random.default_rng(seed)
  by_class = [rng.permutation(np.flatnonzero(labels == c)) for c in np.unique(labels)]
  for _ in range(MAX_ATTEMPTS):
    owner = _draw(rng, by_class, num_clients, alpha, len(labels))
    if np.bincount(owner, minlength=num_clients).min() >= min_size:
      return from_owner(owner, num_clients, name=f"dirichlet(alpha={alpha:g})")
  raise ConfigError(
      f"min_size: no Dirichlet(alpha={alpha:g}) draw in {MAX_ATTEMPTS} gave all "
      f"{num_clients} clients {min_size} or more examples; raise alpha, use fewer "
      f"clients, or lower min_size (0 allows empty clients)")


def _draw(rng: np.random.Generator, by_class, num_clients: int, alpha: float,
          num_examples: int) -> np.ndarray:
  owner = np.empty(num_examples, dtype=np.int64)
  for members in by_class:
    shares = rng.dirichlet(np.full(num_clients, alpha))
    counts = np.diff(np.rint(np.cumsum(shares) * len(members)).astype(np.int64),
                     prepend=0)
    counts[-1] = len(members) - counts[:-1].sum()
    owner[members] = np.repeat(np.arange(num_clients), counts)
  return owner
