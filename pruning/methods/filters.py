"""L1-norm structured pruning: whole conv filters and whole dense units.

Li et al., "Pruning Filters for Efficient ConvNets" (ICLR 2017): in every layer, the
filters (output units) whose kernel slices have the smallest L1 norm are removed, the
same fraction in each layer but the output layer. A removed unit's kernel column and
bias become zero, so with a ReLU (or linear) activation its output is always zero and
the next layer's weights reading it do nothing: those are zeroed too, through pooling
and channels-last flattening. The fraction is the smallest that reaches the target.
"""

from __future__ import annotations

import dataclasses
import math
from typing import List, Optional, Sequence

import numpy as np

from pruning.masks import Masks, pruned_count, prunable_layers, weight_name
from pruning.methods.base import PruneResult, PruneSettings, begin
from pruning.reference import TaskData
from pruning.training import clone, fit
from tff_course.errors import ConfigError

_FRACTION_STEPS = 4096


@dataclasses.dataclass(frozen=True)
class UnitLayer:
  """A prunable layer as filter pruning sees it.

  Attributes:
    kernel_name, kernel: the kernel, output units on the last axis.
    bias_name: the bias's weight name, or None.
    removable: whether its units may be removed (not for the output layer).
    feeds_next: whether a removed unit's output is zero and reaches the next prunable
      layer's input axis (-2) unchanged but for pooling and flattening.
  """

  kernel_name: str
  kernel: np.ndarray
  bias_name: Optional[str]
  removable: bool
  feeds_next: bool


def l1_unit_norms(kernel: np.ndarray) -> np.ndarray:
  """The L1 norm of each output unit's (last axis) kernel slice."""
  return np.abs(kernel).reshape(-1, kernel.shape[-1]).sum(axis=0)


def removed_units(kernel: np.ndarray, fraction: float) -> np.ndarray:
  """Indices of the ceil(fraction x units) lowest-norm units, keeping at least one."""
  units = kernel.shape[-1]
  count = min(math.ceil(fraction * units - 1e-9), units - 1)
  return np.sort(np.argsort(l1_unit_norms(kernel), kind="stable")[:count])


def filter_masks(layers: Sequence[UnitLayer], fraction: float) -> Masks:
  """Masks removing `fraction` of the units of each removable layer, and their readers."""
  masks = {layer.kernel_name: np.ones(layer.kernel.shape, np.float32) for layer in layers}
  for index, layer in enumerate(layers):
    if not layer.removable:
      continue
    removed = removed_units(layer.kernel, fraction)
    masks[layer.kernel_name][..., removed] = 0.0
    if layer.bias_name is not None:
      bias = np.ones(layer.kernel.shape[-1], np.float32)
      bias[removed] = 0.0
      masks[layer.bias_name] = bias
    if layer.feeds_next and index + 1 < len(layers):
      reader = layers[index + 1]
      rows = _reading_rows(reader.kernel.shape[-2], layer.kernel.shape[-1], removed)
      masks[reader.kernel_name][..., rows, :] = 0.0
  return masks


def smallest_fraction(layers: Sequence[UnitLayer], zeros: int) -> float:
  """The smallest fraction (on a grid of 1/4096) whose masks prune at least `zeros`.

  Raises:
    ConfigError: even keeping one unit per layer prunes fewer.
  """
  low, high = 0, _FRACTION_STEPS - 1
  most = pruned_count(filter_masks(layers, high / _FRACTION_STEPS))
  if most < zeros:
    raise ConfigError(f"target sparsity: filter pruning reaches at most {most:,} zeros "
                      f"(one unit left per layer), {zeros:,} asked")
  while low < high:
    middle = (low + high) // 2
    if pruned_count(filter_masks(layers, middle / _FRACTION_STEPS)) >= zeros:
      high = middle
    else:
      low = middle + 1
  return low / _FRACTION_STEPS


def unit_layers(model) -> List[UnitLayer]:
  """The model's prunable layers with what filter pruning needs to know of each."""
  layers = prunable_layers(model)
  result = []
  for index, layer in enumerate(layers):
    last = index == len(layers) - 1
    result.append(UnitLayer(
        kernel_name=weight_name(layer.kernel), kernel=layer.kernel.numpy(),
        bias_name=weight_name(layer.bias) if getattr(layer, "use_bias", False) else None,
        removable=not last,
        feeds_next=not last and _zero_passes(model, layer, layers[index + 1])))
  return result


def l1_filters(model, data: TaskData, target_sparsity: float, *,
               settings: Optional[PruneSettings] = None) -> PruneResult:
  """Removes the lowest-L1 filters and units of every hidden layer, then fine-tunes."""
  settings, target = begin(model, data, target_sparsity, settings)
  layers = unit_layers(model)
  masks = filter_masks(layers, smallest_fraction(layers, target.zeros))
  pruned = clone(model)
  history = fit(pruned, data.train, settings.fine_tune, validation=data.validation,
                masks=masks)
  return PruneResult(pruned, masks, "l1_filters", target.sparsity, history)


def _reading_rows(inputs: int, units: int, removed: np.ndarray) -> np.ndarray:
  if inputs % units:
    return np.zeros(0, np.int64)
  return np.flatnonzero(np.isin(np.arange(inputs) % units, removed))


def _zero_passes(model, layer, reader) -> bool:
  """Whether a zero unit of `layer` arrives at `reader` as zero inputs, channels last."""
  import tensorflow as tf

  passing = (tf.keras.layers.MaxPooling2D, tf.keras.layers.AveragePooling2D,
             tf.keras.layers.Flatten, tf.keras.layers.Dropout)
  between = model.layers[model.layers.index(layer) + 1:model.layers.index(reader)]
  zero_in_zero_out = float(layer.activation(tf.zeros(1))[0]) == 0.0
  channels_last = getattr(layer, "data_format", "channels_last") == "channels_last"
  return zero_in_zero_out and channels_last and all(isinstance(b, passing) for b in between)
