"""Server iterations, one update of the global model each: for mini-batch SGD one
gradient step on a batch of the pooled data, for FedAvg one round of J local steps on
every client. Each yields the new parameters and the gradient evaluations it took."""

from __future__ import annotations

from typing import Iterator, Sequence, Tuple

import numpy as np

from tff_course.scratch.fedavg import fedavg_round
from tff_course.scratch.mlp import Params
from tff_course.scratch.sgd import batches, sgd

Iteration = Tuple[Params, int]


def sgd_iterations(params: Params, x: np.ndarray, y: np.ndarray, *, learning_rate: float,
                   batch_size: int, iterations: int,
                   rng: np.random.Generator) -> Iterator[Iteration]:
  """Mini-batch SGD of the global model: each iteration is one gradient step on the next
  batch of `batch_size` of shuffled passes over (x, y) (a pass's last batch may be
  smaller); one gradient evaluation each."""
  for batch in batches(len(y), batch_size, 1, rng, steps=iterations):
    params, _ = sgd(params, x[batch], y[batch], learning_rate=learning_rate,
                    batch_size=None, steps=1)
    yield params, 1


def fedavg_iterations(params: Params, clients: Sequence[Tuple[np.ndarray, np.ndarray]], *,
                      learning_rate: float, batch_size: int, local_steps: int,
                      iterations: int, rng: np.random.Generator) -> Iterator[Iteration]:
  """FedAvg: each iteration is one round in which every client takes `local_steps`
  mini-batch steps from the global model and the server averages the results by client
  size; `local_steps` gradient evaluations per client."""
  for _ in range(iterations):
    params, _ = fedavg_round(params, clients, learning_rate=learning_rate,
                             batch_size=batch_size, rng=rng, steps=local_steps)
    yield params, local_steps * len(clients)
