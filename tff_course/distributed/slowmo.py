"""Local SGD (Stich, "Local SGD Converges Fast and Communicates Little", ICLR 2019) and
SlowMo (Wang et al., "SlowMo: Improving Communication-Efficient Distributed SGD with Slow
Momentum", ICLR 2020, Algorithm 1).

K workers start sync t from the same weights x_t, each takes H steps of SGD (learning
rate gamma) on its own batches, and the K results are averaged into x_avg. SlowMo then
takes a slow step with momentum beta and learning rate alpha:

    u <- beta * u + (x_t - x_avg) / gamma
    x_{t+1} = x_t - alpha * gamma * u

With beta = 0 and alpha = 1 this is Local SGD (x_{t+1} = x_avg, returned exactly); with
H = 1 as well it is synchronous mini-batch SGD on the union of the K batches.
"""

from __future__ import annotations

import dataclasses
import math
from typing import List, Optional, Sequence, Tuple

import numpy as np

from tff_course.ranges import check_integer, check_range


@dataclasses.dataclass(frozen=True)
class SlowMoSettings:
  """A Local SGD or SlowMo run: K workers, H local steps a sync, the inner SGD and the
  slow outer step (beta = 0, alpha = 1: Local SGD)."""

  workers: int = 2
  local_steps: int = 4
  syncs: int = 10
  batch_size: int = 32
  inner_lr: float = 0.05
  inner_momentum: float = 0.0
  outer_lr: float = 1.0
  outer_momentum: float = 0.0
  seed: int = 0

  def __post_init__(self):
    check_integer("workers", self.workers, 1)
    check_integer("local_steps (H)", self.local_steps, 1)
    check_integer("syncs", self.syncs, 1)
    check_integer("batch_size", self.batch_size, 1)
    check_range("inner_lr", self.inner_lr, 0.0, math.inf, upper_open=True, lower_open=True)
    check_range("inner_momentum", self.inner_momentum, 0.0, 1.0, upper_open=True)
    check_range("outer_lr (alpha)", self.outer_lr, 0.0, math.inf, upper_open=True,
                lower_open=True)
    check_range("outer_momentum (beta)", self.outer_momentum, 0.0, 1.0, upper_open=True)
    check_integer("seed", self.seed, 0)

  @property
  def is_local_sgd(self) -> bool:
    return self.outer_momentum == 0.0 and self.outer_lr == 1.0

  @property
  def steps(self) -> int:
    """Gradient steps each worker takes."""
    return self.syncs * self.local_steps


def mean_of_workers(per_worker: Sequence[Sequence[np.ndarray]]) -> List[np.ndarray]:
  """The element-wise mean of each weight over workers, summed in float32 and divided by K
  as the collective all-reduce computes it."""
  count = np.float32(len(per_worker))
  return [np.sum(np.stack(values), axis=0, dtype=np.float32) / count
          for values in zip(*per_worker)]


def outer_step(start: Sequence[np.ndarray], averaged: Sequence[np.ndarray],
               buffers: Optional[Sequence[np.ndarray]],
               settings: SlowMoSettings) -> Tuple[List[np.ndarray], List[np.ndarray]]:
  """(x_{t+1}, u) from x_t (`start`), the workers' average and the slow momentum `buffers`
  (None before the first sync)."""
  if buffers is None:
    buffers = [np.zeros_like(value) for value in start]
  if settings.is_local_sgd:
    return [np.array(value) for value in averaged], list(buffers)
  gamma = np.float32(settings.inner_lr)
  new_buffers = [np.float32(settings.outer_momentum) * u + (x - a) / gamma
                 for x, a, u in zip(start, averaged, buffers)]
  step = np.float32(settings.outer_lr) * gamma
  return [x - step * u for x, u in zip(start, new_buffers)], new_buffers
