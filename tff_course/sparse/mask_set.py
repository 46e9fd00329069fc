"""Masks of sparse fine-tuning: variable key -> 0/1 array of that variable's shape.

A mask entry 1 means the weight entry may be updated; 0 keeps it at its pre-trained
value. A mask set covers every trainable variable of the model (a variable that is not
fine-tuned, such as a frozen head, has an all-zero mask). Keys are variable names without
Keras' ":0" ("layer1.0.conv1/kernel"), in the model's order. Keras numbers the layers it
names itself (dense, dense_1, ...) differently in every model it builds, so masks whose
names all differ from a model's are matched to its variables by position when every
shape agrees (`matched_masks`).
"""

from __future__ import annotations

from typing import Dict, Mapping, Tuple

import numpy as np

from tff_course.atomic import atomic_path
from tff_course.errors import ConfigError, DataError
from tff_course.layout_check import layout_differences, listed

Masks = Dict[str, np.ndarray]


def variable_key(variable) -> str:
  """"layer1.0.conv1/kernel" for the variable "layer1.0.conv1/kernel:0"."""
  return variable.name.split(":")[0]


def model_shapes(model) -> Dict[str, Tuple[int, ...]]:
  """Variable key -> shape of every trainable variable of `model`."""
  return {variable_key(v): tuple(v.shape) for v in model.trainable_variables}


def matched_masks(masks: Mapping[str, np.ndarray],
                  shapes: Mapping[str, Tuple[int, ...]]) -> Masks:
  """`masks` keyed by the model's variable keys (`shapes`' keys): by name, or by position
  when no name matches and the shapes agree in order; checked by `check_masks_cover`."""
  named = any(key in shapes for key in masks)
  in_order = [tuple(np.shape(mask)) for mask in masks.values()] == list(shapes.values())
  if not named and in_order:
    masks = dict(zip(shapes, masks.values()))
  check_masks_cover(masks, shapes)
  return dict(masks)


def check_masks_cover(masks: Mapping[str, np.ndarray],
                      shapes: Mapping[str, Tuple[int, ...]]) -> None:
  """Raises ConfigError, one line, unless `masks` has one 0/1 mask of each shape in `shapes`."""
  missing, unexpected, wrong = layout_differences(masks, shapes)
  if missing or unexpected:
    parts = [f"{len(missing)} missing ({listed(missing)})" if missing else "",
             f"{len(unexpected)} not in the model ({listed(unexpected)})" if unexpected else ""]
    raise ConfigError(f"masks: {'; '.join(part for part in parts if part)}; expected one "
                      f"mask per trainable variable ({len(shapes)})")
  if wrong:
    raise ConfigError(f"masks: {wrong[0]}, the model's variable")
  for key in shapes:
    values = np.asarray(masks[key])
    if not np.all((values == 0) | (values == 1)):
      raise ConfigError(f"masks: {key} holds values other than 0 and 1, expected a 0/1 "
                        f"mask")


def density(masks: Mapping[str, np.ndarray]) -> float:
  """The fraction of entries that may be updated, over all masks."""
  total = sum(int(np.size(mask)) for mask in masks.values())
  return sum(float(np.sum(mask)) for mask in masks.values()) / max(total, 1)


def save_masks(path: str, masks: Mapping[str, np.ndarray]) -> None:
  """Writes `masks` to `path` (.npz, compressed, as uint8) atomically."""
  with atomic_path(path) as temp:
    with open(temp, "wb") as stream:
      np.savez_compressed(stream, **{key: np.asarray(mask, np.uint8)
                                     for key, mask in masks.items()})


def load_masks(path: str) -> Masks:
  """The masks `save_masks` wrote, as float32.

  Raises:
    DataError: the file is missing or not a mask file.
  """
  try:
    with np.load(path, allow_pickle=False) as saved:
      return {key: saved[key].astype(np.float32) for key in saved.files}
  except (OSError, ValueError) as error:
    raise DataError(f"masks {path}: cannot be read ({error}), expected a .npz file "
                    f"written by save_masks") from None
