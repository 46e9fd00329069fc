"""Ditto in NumPy (Li et al., ICML 2021, Algorithm 1), the reference the TFF computation
(tff_course.algorithms.ditto) is tested against."""

from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

import numpy as np

from tff_course.scratch.mlp import Params, loss_and_gradients
from tff_course.scratch.sgd import batches, sgd


def personal_steps(personal: Params, global_params: Params, x: np.ndarray, y: np.ndarray, *,
                   learning_rate: float, ditto_lambda: float,
                   batch_size: Optional[int]) -> Params:
  """One pass of SGD on v over the batches in stored order, each step adding
  lambda (v - w) to the gradient."""
  own = [p.astype(np.float64) for p in personal]
  for batch in batches(len(y), batch_size, 1, None):
    _, grads = loss_and_gradients(own, x[batch], y[batch])
    own = [v - learning_rate * (g + ditto_lambda * (v - w))
           for v, g, w in zip(own, grads, global_params)]
  return own


def ditto_round(global_params: Params, personal: Sequence[Optional[Params]],
                clients: Sequence[Tuple[np.ndarray, np.ndarray]], *, learning_rate: float,
                ditto_lambda: float, batch_size: Optional[int],
                server_lr: float = 1.0) -> Tuple[Params, List[Params]]:
  """A round over the sampled `clients` with their personal models (None: not yet
  trained, start from the global model): the new global model (w + server_lr x the
  example-weighted mean change) and the clients' new personal models."""
  new_personal, changes, sizes = [], [], []
  for (x, y), own in zip(clients, personal):
    start = global_params if own is None else own
    new_personal.append(personal_steps(start, global_params, x, y,
                                       learning_rate=learning_rate,
                                       ditto_lambda=ditto_lambda, batch_size=batch_size))
    local, _ = sgd(global_params, x, y, learning_rate=learning_rate, batch_size=batch_size)
    changes.append([p - w for p, w in zip(local, global_params)])
    sizes.append(len(y))
  share = np.asarray(sizes, np.float64) / np.sum(sizes)
  updated = [w + server_lr * sum(s * c[i] for s, c in zip(share, changes))
             for i, w in enumerate(global_params)]
  return updated, new_personal
