"""Masks: which weights are pruned, how many to prune, and keeping them pruned.

A mask set maps a weight's name ("dense1/kernel") to a 0/1 float32 array of that
weight's shape; weights without a mask are left alone. Methods prune the kernels of
Conv2D and Dense layers (filter pruning also zeroes a removed unit's bias). The
target sparsity counts every parameter, biases included, as the score does.
"""

from __future__ import annotations

import functools
import math
import numbers
from typing import Dict, List, Mapping, Sequence, Tuple

import numpy as np

from tff_course.errors import ConfigError

Masks = Dict[str, np.ndarray]


def weight_name(variable) -> str:
  """"dense1/kernel" for the variable "dense1/kernel:0"."""
  return variable.name.split(":")[0]


def prunable_layers(model) -> List:
  """The Conv2D and Dense layers, in order.

  Raises:
    ConfigError: the model has none.
  """
  import tensorflow as tf

  layers = [layer for layer in model.layers
            if isinstance(layer, (tf.keras.layers.Conv2D, tf.keras.layers.Dense))]
  if not layers:
    kinds = ", ".join(type(layer).__name__ for layer in model.layers) or "no layers"
    raise ConfigError(f"model {model.name!r}: no prunable layers (Conv2D or Dense), it has "
                      f"{kinds}")
  return layers


def kernels(model) -> Dict[str, np.ndarray]:
  """Name -> value of every prunable layer's kernel."""
  return {weight_name(layer.kernel): layer.kernel.numpy() for layer in prunable_layers(model)}


def check_target_sparsity(target) -> float:
  """Returns `target` as a float in [0, 1); raises ConfigError otherwise."""
  if isinstance(target, bool) or not isinstance(target, numbers.Real) or not (
      0 <= target < 1):
    raise ConfigError(f"target sparsity: got {target!r}, expected a number in [0, 1)")
  return float(target)


def zeros_needed(target: float, total_parameters: int, prunable: int) -> int:
  """How many parameters must be zero for sparsity >= `target` over `total_parameters`.

  Raises:
    ConfigError: more than the `prunable` kernel entries would be needed.
  """
  needed = math.ceil(check_target_sparsity(target) * total_parameters - 1e-9)
  if needed > prunable:
    raise ConfigError(f"target sparsity: got {target}, expected at most "
                      f"{prunable / total_parameters:.6f} (the kernels hold {prunable:,} of "
                      f"the {total_parameters:,} parameters)")
  return needed


def global_magnitude_masks(weights: Mapping[str, np.ndarray], count: int) -> Masks:
  """Masks pruning the `count` smallest-magnitude entries over all `weights` together."""
  names = list(weights)
  flat = np.concatenate([np.abs(weights[name]).ravel() for name in names])
  keep = np.ones(flat.size, np.float32)
  if count > 0:
    keep[np.argsort(flat, kind="stable")[:count]] = 0.0
  return _split(keep, weights, names)


def layerwise_magnitude_masks(weights: Mapping[str, np.ndarray], fraction: float) -> Masks:
  """Masks pruning ceil(`fraction` x size) smallest-magnitude entries of each weight."""
  return {name: global_magnitude_masks({name: value},
                                       math.ceil(fraction * value.size - 1e-9))[name]
          for name, value in weights.items()}


def score_masks(scores: Mapping[str, np.ndarray], count: int) -> Masks:
  """Masks pruning the `count` entries of lowest score over all `scores` together."""
  return global_magnitude_masks({name: np.abs(value) for name, value in scores.items()},
                                count)


def pruned_count(masks: Mapping[str, np.ndarray]) -> int:
  """How many entries the masks prune."""
  return int(sum(np.count_nonzero(mask == 0) for mask in masks.values()))


def combine(first: Mapping[str, np.ndarray], second: Mapping[str, np.ndarray]) -> Masks:
  """Entry-wise product: pruned where either set prunes."""
  names = list(dict.fromkeys([*first, *second]))
  return {name: (first[name] * second[name] if name in first and name in second
                 else first.get(name, second.get(name))).astype(np.float32)
          for name in names}


def apply_masks(model, masks: Mapping[str, np.ndarray]) -> None:
  """Multiplies each masked weight of `model` by its mask, in place.

  Raises:
    ConfigError: a mask names no weight of the model, or its shape differs.
  """
  variables = {weight_name(v): v for v in model.weights}
  for name, mask in masks.items():
    if name not in variables:
      raise ConfigError(f"mask {name!r}: the model has no such weight (it has "
                        f"{', '.join(variables)})")
    if tuple(mask.shape) != tuple(variables[name].shape):
      raise ConfigError(f"mask {name!r}: got shape {tuple(mask.shape)}, expected "
                        f"{tuple(variables[name].shape)}")
    variables[name].assign(variables[name] * mask.astype(variables[name].dtype.as_numpy_dtype))


def _split(flat: np.ndarray, weights: Mapping[str, np.ndarray], names) -> Masks:
  sizes = np.cumsum([weights[name].size for name in names])[:-1]
  return {name: part.reshape(weights[name].shape)
          for name, part in zip(names, np.split(flat, sizes))}


def masking_function(pairs: Sequence[Tuple]):
  """A compiled function that multiplies each variable of (variable, mask) `pairs` by its mask."""
  import tensorflow as tf

  @tf.function
  def enforce():
    for variable, mask in pairs:
      variable.assign(variable * mask)

  return enforce


def mask_enforcer(masks: Mapping[str, np.ndarray]):
  """A Keras callback that applies `masks` before training and after every batch."""
  return _mask_enforcer_class()(masks)


@functools.lru_cache(maxsize=None)
def _mask_enforcer_class():
  import tensorflow as tf

  class MaskEnforcer(tf.keras.callbacks.Callback):
    """Re-applies the masks before training and after every batch."""

    def __init__(self, masks: Mapping[str, np.ndarray]):
      super().__init__()
      self._masks = dict(masks)
      self._enforce = None

    def on_train_begin(self, logs=None):
      variables = {weight_name(v): v for v in self.model.weights}
      apply_masks(self.model, self._masks)
      self._enforce = masking_function(
          [(variables[name], tf.constant(mask, variables[name].dtype))
           for name, mask in self._masks.items()])

    def on_train_batch_end(self, batch, logs=None):
      self._enforce()

  return MaskEnforcer
