"""Cutting a Keras Sequential model into S contiguous stages of layers, balanced by their
number of weights: each cut falls where the running count is nearest to its share (each
stage at least one layer)."""

from __future__ import annotations

from typing import List

import numpy as np

from tff_course.errors import ConfigError
from tff_course.ranges import check_integer


def split_layers(model, stages: int) -> List[list]:
  """The model's layers in `stages` contiguous groups whose weight counts are as even as a
  cut between layers allows.

  Raises:
    ConfigError: S < 1 or larger than the number of layers.
  """
  check_integer("stages (S)", stages, 1)
  layers = list(model.layers)
  if stages > len(layers):
    raise ConfigError(f"stages (S): got {stages}, but {model.name} has {len(layers)} layers; "
                      f"S can be at most {len(layers)}")
  sizes = np.array([max(layer.count_params(), 1) for layer in layers], dtype=float)
  cumulative = np.cumsum(sizes)
  cuts, previous = [], 0
  for stage in range(1, stages):
    target = cumulative[-1] * stage / stages
    cut = int(np.argmin(np.abs(cumulative - target))) + 1
    cut = min(max(cut, previous + 1), len(layers) - (stages - stage))
    cuts.append(cut)
    previous = cut
  bounds = [0] + cuts + [len(layers)]
  return [layers[start:end] for start, end in zip(bounds, bounds[1:])]
