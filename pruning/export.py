"""Saving a pruned model as the autograder's `.h5` and loading one back, checked.

The file is a whole Keras HDF5 model of the reference architecture, without optimizer
state, pruned weights stored as zeros: `tf.keras.models.load_model` and
`model.load_weights` both read it. Loading reads the weights with h5py and compares
every weighted layer's weights, in order, with the reference network before any is set,
so a file of another architecture is refused with the first layer or shape that differs.
"""

from __future__ import annotations

import os
import warnings
from typing import List, Tuple

import numpy as np

from pruning.reference import build_reference_model
from tff_course.atomic import atomic_path
from tff_course.errors import ConfigError, DataError

LayerWeights = List[Tuple[str, List[Tuple[str, np.ndarray]]]]


def save_h5(model, path: str) -> str:
  """Writes `model` (reference architecture) to `path` atomically; returns `path`.

  Raises:
    ConfigError: `model` is not of the reference architecture, or `path` does not end
      in .h5.
  """
  if not path.endswith(".h5"):
    raise ConfigError(f"output: got {path!r}, expected a file name ending in .h5")
  check_architecture(_model_layer_weights(model), origin=f"model {model.name!r}")
  with atomic_path(path) as temp, warnings.catch_warnings():
    warnings.filterwarnings("ignore", message=".*HDF5 file via `model.save\(\)`")
    model.save(temp, save_format="h5", include_optimizer=False)
  return path


def load_h5(path: str):
  """The reference network with the weights of the `.h5` file at `path`.

  Raises:
    DataError: the file is missing, not HDF5, truncated, holds no Keras weights, or its
      layers or shapes differ from the reference architecture.
  """
  stored = read_layer_weights(path)
  check_architecture(stored, origin=path)
  model = build_reference_model()
  weighted = [layer for layer in model.layers if layer.weights]
  for layer, (_, weights) in zip(weighted, stored):
    layer.set_weights([value for _, value in weights])
  return model


def read_layer_weights(path: str) -> LayerWeights:
  """(layer name, [(weight name, array)]) for each layer with weights, in file order."""
  import h5py

  if not os.path.isfile(path):
    raise DataError(f"{path}: no such file")
  try:
    with h5py.File(path, "r") as stream:
      group = stream["model_weights"] if "model_weights" in stream else stream
      if "layer_names" not in group.attrs:
        raise DataError(f"{path}: an HDF5 file but not Keras weights (no 'layer_names'); "
                        f"expected a file written by model.save or model.save_weights")
      layers = []
      for layer in map(_text, group.attrs["layer_names"]):
        names = [_text(n) for n in group[layer].attrs.get("weight_names", [])]
        if names:
          layers.append((layer, [(n, np.asarray(group[layer][n])) for n in names]))
      return layers
  except DataError:
    raise
  except (OSError, KeyError, ValueError, TypeError) as error:
    raise DataError(f"{path}: not a readable Keras .h5 file (corrupt or truncated?): "
                    f"{error}") from error


def check_architecture(stored: LayerWeights, *, origin: str) -> None:
  """Raises DataError naming the first layer or shape of `stored` unlike the reference."""
  expected = _model_layer_weights(build_reference_model())
  if len(stored) != len(expected):
    raise DataError(f"{origin}: {len(stored)} layers with weights "
                    f"({', '.join(name for name, _ in stored)}), expected {len(expected)} "
                    f"({', '.join(name for name, _ in expected)}) of the reference network")
  for index, ((layer, weights), (want_layer, want)) in enumerate(zip(stored, expected)):
    if len(weights) != len(want):
      raise DataError(f"{origin}: layer {index + 1} ({layer!r}) has {len(weights)} weights, "
                      f"expected {len(want)} as in the reference layer {want_layer!r}")
    for (name, value), (want_name, want_value) in zip(weights, want):
      if value.shape != want_value.shape:
        raise DataError(f"{origin}: layer {index + 1} ({layer!r}) weight {name!r} has shape "
                        f"{value.shape}, expected {want_value.shape} (reference "
                        f"{want_name!r})")
      if not np.issubdtype(value.dtype, np.floating):
        raise DataError(f"{origin}: weight {name!r} has dtype {value.dtype}, expected a "
                        f"floating-point type")


def _model_layer_weights(model) -> LayerWeights:
  return [(layer.name, [(w.name, np.zeros(w.shape, np.float32)) for w in layer.weights])
          for layer in model.layers if layer.weights]


def _text(value) -> str:
  return value.decode("utf-8") if isinstance(value, bytes) else str(value)
