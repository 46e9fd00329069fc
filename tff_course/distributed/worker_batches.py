"""Which examples each worker trains on at each step: one shuffled order of the training
set per epoch (from the seed), cut into global batches of K x B examples; worker k takes
the k-th B of each. The process workers and the single-process simulation draw the same
batches, so both give the same weights."""

from __future__ import annotations

import numpy as np

from tff_course.errors import ConfigError


def worker_batch(num_examples: int, workers: int, batch_size: int, seed: int, step: int,
                 worker: int) -> np.ndarray:
  """The example indices of `worker`'s batch at global step `step` (0-based)."""
  per_step = workers * batch_size
  steps_per_epoch = num_examples // per_step
  if steps_per_epoch < 1:
    raise ConfigError(f"batch_size: {workers} workers x {batch_size} = {per_step} examples a "
                      f"step, but the training set has {num_examples}; use a smaller batch")
  epoch, position = divmod(step, steps_per_epoch)
  order = np.random.default_rng([seed, epoch]).permutation(num_examples)
  start = position * per_step + worker * batch_size
  return order[start:start + batch_size]
