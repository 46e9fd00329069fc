"""Input checks shared by the attacks, defenses and commands: one-line errors that name
the input, the value received and what was expected."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from tff_course.errors import ConfigError, DataError


class GradientError(ConfigError):
  """The shared gradient cannot be attacked as given (None entries, wrong shapes)."""


def check_images(images, input_shape: Sequence[int]) -> np.ndarray:
  """`images` as float32 (B, *input_shape) with values in [0, 1], or DataError."""
  array = np.asarray(images)
  expected = tuple(int(d) for d in input_shape)
  if array.ndim == len(expected):
    array = array[None]
  if array.ndim != len(expected) + 1 or tuple(array.shape[1:]) != expected or not len(array):
    raise DataError(f"image: got shape {tuple(np.shape(images))}, expected {expected} or "
                    f"(batch, {', '.join(map(str, expected))}) (the model's input)")
  if not np.issubdtype(array.dtype, np.number) or np.issubdtype(array.dtype, np.complexfloating):
    raise DataError(f"image: got dtype {array.dtype}, expected real numbers in [0, 1]")
  array = array.astype(np.float32)
  if not np.all(np.isfinite(array)):
    raise DataError("image: holds NaN or infinity, expected values in [0, 1]")
  low, high = float(array.min()), float(array.max())
  if low < 0 or high > 1:
    hint = " (divide uint8 pixels by 255)" if high <= 255 and low >= 0 else ""
    raise DataError(f"image: values in [{low:g}, {high:g}], expected [0, 1]{hint}")
  return array


def check_labels(labels, batch_size: int, num_classes: int) -> np.ndarray:
  """`labels` as int32 (batch_size,) in [0, num_classes), or DataError."""
  array = np.atleast_1d(np.asarray(labels))
  if array.shape != (batch_size,) or not np.issubdtype(array.dtype, np.integer):
    raise DataError(f"label: got {np.asarray(labels).tolist()!r}, expected {batch_size} "
                    f"integer label(s)")
  if array.min() < 0 or array.max() >= num_classes:
    raise DataError(f"label: got {array.tolist()}, expected classes in 0..{num_classes - 1}")
  return array.astype(np.int32)


def check_gradients(gradients, variables) -> list:
  """The shared gradient as a list of float32 arrays matching `variables`, or
  GradientError naming the first missing, misshapen or non-finite entry."""
  gradients = list(gradients)
  if len(gradients) != len(variables):
    raise GradientError(f"gradients: got {len(gradients)} tensors, expected one per "
                        f"trainable variable of the model ({len(variables)})")
  checked = []
  for gradient, variable in zip(gradients, variables):
    if gradient is None:
      raise GradientError(f"gradients: the entry for {variable.name} is None (the loss "
                          f"does not reach that variable); give zeros, or use a model "
                          f"whose every trainable variable affects the output")
    array = np.asarray(gradient, dtype=np.float32)
    if array.shape != tuple(variable.shape):
      raise GradientError(f"gradients: the entry for {variable.name} has shape "
                          f"{array.shape}, expected {tuple(variable.shape)}")
    if not np.all(np.isfinite(array)):
      raise GradientError(f"gradients: the entry for {variable.name} holds NaN or infinity")
    checked.append(array)
  return checked


def check_positive_int(name: str, value, minimum: int = 1) -> int:
  """`value` as an int >= minimum, or ConfigError."""
  if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
    raise ConfigError(f"{name}: got {value!r}, expected a whole number >= {minimum}")
  return int(value)
