"""FedPer in NumPy (Arivazhagan et al., 2019): the reference the TFF computation
(tff_course.algorithms.partial_personal) is tested against."""

from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

import numpy as np

from tff_course.scratch.mlp import Params
from tff_course.scratch.sgd import sgd


def fedper_round(global_params: Params, heads: Sequence[Optional[List[np.ndarray]]],
                 clients: Sequence[Tuple[np.ndarray, np.ndarray]], *, personal: Sequence[int],
                 learning_rate: float, batch_size: Optional[int],
                 server_lr: float = 1.0) -> Tuple[Params, List[List[np.ndarray]]]:
  """A round over the sampled `clients` with their personal arrays (`personal` indices
  into the parameters; None: not yet trained, the global ones): each trains every
  parameter with SGD in stored order from the global model with its own personal arrays;
  the server moves the shared parameters by server_lr x the example-weighted mean change.
  Returns the new global parameters and the clients' new personal arrays."""
  changes, sizes, new_heads = [], [], []
  for (x, y), head in zip(clients, heads):
    start = [p.astype(np.float64) for p in global_params]
    for index, value in zip(personal, head or []):
      start[index] = np.asarray(value, np.float64)
    local, _ = sgd(start, x, y, learning_rate=learning_rate, batch_size=batch_size)
    changes.append([np.zeros_like(p) if i in personal else p - s
                    for i, (p, s) in enumerate(zip(local, start))])
    new_heads.append([local[i] for i in personal])
    sizes.append(len(y))
  share = np.asarray(sizes, np.float64) / np.sum(sizes)
  updated = [w + server_lr * sum(s * c[i] for s, c in zip(share, changes))
             for i, w in enumerate(global_params)]
  return updated, new_heads
