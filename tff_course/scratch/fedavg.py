"""FedAvg in NumPy (McMahan et al., 2017, Algorithm 1), no ML library involved."""

from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

import numpy as np

from tff_course.algorithms.averaging import average_weights
from tff_course.scratch.mlp import Params
from tff_course.scratch.sgd import sgd


def fedavg_round(global_params: Params, clients: Sequence[Tuple[np.ndarray, np.ndarray]], *,
                 learning_rate: float, batch_size: Optional[int], epochs: int = 1,
                 rng: Optional[np.random.Generator] = None,
                 proximal_mu: float = 0.0,
                 steps: Optional[int] = None) -> Tuple[Params, float]:
  """Every client runs SGD from the global model; the results are averaged by size
  (FedProx when `proximal_mu` > 0).

  Args:
    global_params: the server model.
    clients: (x, y) of each participating client.
    learning_rate, batch_size, epochs: local SGD settings (B None = full batch).
    steps: local steps J instead of epochs, when given.
    rng: shuffles each client's batches; None keeps the stored order.

  Returns:
    The new global parameters and the example-weighted mean local training loss.
  """
  results: List[Params] = []
  losses, sizes = [], []
  for x, y in clients:
    params, loss = sgd(global_params, x, y, learning_rate=learning_rate,
                       batch_size=batch_size, epochs=epochs, rng=rng,
                       proximal_mu=proximal_mu, steps=steps)
    results.append(params)
    losses.append(loss)
    sizes.append(len(y))
  return average_weights(results, sizes), float(np.average(losses, weights=sizes))
