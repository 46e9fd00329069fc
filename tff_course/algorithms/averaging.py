"""Weighted averaging of model weights, as a plain NumPy function."""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from tff_course.errors import ConfigError


def average_weights(weight_lists: Sequence[Sequence[np.ndarray]],
                    num_examples: Optional[Sequence[float]] = None) -> list:
  """Averages several models' weights, layer by layer.

  Args:
    weight_lists: one list of arrays per model, all of the same shapes.
    num_examples: each model's weight (FedAvg: its number of examples); None
      weighs every model the same.

  Returns:
    A list of arrays: sum_k n_k w_k / sum_k n_k for each layer.

  Example:
    >>> average_weights([[np.array([0.0])], [np.array([3.0])]], [2, 1])[0]
    array([1.])
  """
  if not weight_lists:
    raise ConfigError("weight_lists: got no models to average")
  shapes = [tuple(np.shape(w) for w in weights) for weights in weight_lists]
  if any(shape != shapes[0] for shape in shapes):
    raise ConfigError(f"weight_lists: models have different layer shapes: {shapes[0]} "
                      f"vs {next(s for s in shapes if s != shapes[0])}")
  coefficients = np.ones(len(weight_lists)) if num_examples is None else np.asarray(
      num_examples, dtype=np.float64)
  if coefficients.shape != (len(weight_lists),) or coefficients.min() < 0 or \
      coefficients.sum() <= 0:
    raise ConfigError(
        f"num_examples: expected {len(weight_lists)} non-negative numbers with a positive "
        f"sum, got {list(np.ravel(coefficients))}")
  coefficients = coefficients / coefficients.sum()
  return [sum(c * np.asarray(weights[layer], dtype=np.float64)
              for c, weights in zip(coefficients, weight_lists)).astype(
                  np.asarray(weight_lists[0][layer]).dtype)
          for layer in range(len(weight_lists[0]))]
