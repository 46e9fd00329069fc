"""Mini-batch SGD in NumPy."""

from __future__ import annotations

import itertools
from typing import Optional, Tuple

import numpy as np

from tff_course.errors import ConfigError

from tff_course.scratch.mlp import Params, loss_and_gradients


def batches(num_examples: int, batch_size: Optional[int], epochs: int,
            rng: Optional[np.random.Generator], steps: Optional[int] = None):
  """Index arrays of successive batches: `epochs` passes, or exactly `steps` batches
  when given (as many passes as that takes), reshuffled per pass when `rng` is given,
  in stored order otherwise; batch_size None means one full batch."""
  if steps is not None and steps < 0:
    raise ConfigError(f"steps: got {steps}, expected a whole number >= 0")
  if num_examples == 0:
    return
  size = batch_size or num_examples
  passes = itertools.count() if steps is not None else range(epochs)
  yielded = 0
  for _ in passes:
    order = rng.permutation(num_examples) if rng is not None else np.arange(num_examples)
    for start in range(0, num_examples, size):
      if yielded == steps:
        return
      yield order[start:start + size]
      yielded += 1


def sgd(params: Params, x: np.ndarray, y: np.ndarray, *, learning_rate: float,
        batch_size: Optional[int], epochs: int = 1,
        rng: Optional[np.random.Generator] = None, proximal_mu: float = 0.0,
        steps: Optional[int] = None) -> Tuple[Params, float]:
  """Runs mini-batch SGD for `epochs`, or for `steps` batches when given; returns the
  new parameters and the mean training loss seen.

  With `proximal_mu` > 0 each step adds FedProx's mu * (w - w_start) to the gradient.
  """
  anchor = [p.copy() for p in params]
  params = [p.copy() for p in params]
  losses = []
  for batch in batches(len(y), batch_size, epochs, rng, steps):
    loss, grads = loss_and_gradients(params, x[batch], y[batch])
    for p, g, p0 in zip(params, grads, anchor):
      if proximal_mu:
        g = g + proximal_mu * (p - p0)
      p -= learning_rate * g.astype(p.dtype)
    losses.append(loss)
  return params, float(np.mean(losses)) if losses else float("nan")
