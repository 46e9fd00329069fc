"""Moving PyTorch weights into Keras layers: names, and the axis orders that differ.

PyTorch keeps a convolution's kernel as (out, in, height, width) and a linear layer's as
(out, in); Keras as (height, width, in, out) and (in, out). Keras layers here are named
as the PyTorch modules ("layer1.0.conv1"), so a layer's weights are found by key. A layer
with a `torch_weights()` method (key -> variable) names its own weights, which keep
PyTorch's shapes (a ViT's "cls_token" and "pos_embed").
"""

from __future__ import annotations

from typing import Dict, Tuple

import numpy as np

_BATCH_NORM = (("weight", 0), ("bias", 1), ("running_mean", 2), ("running_var", 3))
_LAYER_NORM = (("weight", 0), ("bias", 1))
IGNORED_SUFFIXES = ("num_batches_tracked",)


def torch_keys(model) -> Dict[str, Tuple[int, ...]]:
  """PyTorch key -> PyTorch shape of every weight of `model`'s Conv2D, Dense and norm
  layers, and of layers that name their own (`torch_weights`)."""
  return {key: shape for key, (_, _, shape) in _plan(model).items()}


def assign_torch_weights(model, state: Dict[str, np.ndarray]) -> None:
  """Sets `model`'s weights from `state` (checked with `torch_keys` first)."""
  for key, (variable, to_keras, _) in _plan(model).items():
    variable.assign(to_keras(state[key]).astype(variable.dtype.as_numpy_dtype))


def without_ignored(state: Dict[str, np.ndarray]) -> Dict[str, np.ndarray]:
  """`state` less the bookkeeping entries (BatchNorm's num_batches_tracked)."""
  return {key: value for key, value in state.items()
          if not key.endswith(IGNORED_SUFFIXES)}


def _plan(model) -> Dict[str, tuple]:
  import tensorflow as tf

  layers = tf.keras.layers
  plan = {}
  for layer in model.layers:
    if hasattr(layer, "torch_weights"):
      plan.update({key: (variable, np.asarray, tuple(variable.shape))
                   for key, variable in layer.torch_weights().items()})
      continue
    if isinstance(layer, layers.Conv2D):
      plan[f"{layer.name}.weight"] = (layer.kernel, _conv,
                                      tuple(np.array(layer.kernel.shape)[[3, 2, 0, 1]]))
    elif isinstance(layer, layers.Dense):
      plan[f"{layer.name}.weight"] = (layer.kernel, np.transpose,
                                      tuple(layer.kernel.shape[::-1]))
    elif isinstance(layer, layers.BatchNormalization):
      plan.update(_norm(layer, _BATCH_NORM))
      continue
    elif isinstance(layer, layers.LayerNormalization):
      plan.update(_norm(layer, _LAYER_NORM))
      continue
    else:
      continue
    if layer.use_bias:
      plan[f"{layer.name}.bias"] = (layer.bias, np.asarray, tuple(layer.bias.shape))
  return plan


def _norm(layer, names) -> Dict[str, tuple]:
  return {f"{layer.name}.{name}": (layer.weights[index], np.asarray,
                                   tuple(layer.weights[index].shape))
          for name, index in names}


def _conv(kernel: np.ndarray) -> np.ndarray:
  return np.transpose(kernel, (2, 3, 1, 0))
