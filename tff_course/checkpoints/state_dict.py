"""A published checkpoint's tensors by name, checked against what an architecture expects."""

from __future__ import annotations

from typing import Any, Dict, Mapping, Tuple

import numpy as np

from tff_course.checkpoints.safetensors_file import read_safetensors
from tff_course.checkpoints.torch_file import read_torch_checkpoint
from tff_course.errors import DataError
from tff_course.layout_check import layout_differences, listed

_NESTED = ("state_dict", "model", "teacher", "student", "module")
_WRAPPER_PREFIXES = ("module.", "backbone.")


def read_state_dict(path: str) -> Dict[str, np.ndarray]:
  """Name -> array of the weights in `path`, a safetensors file or a torch.save checkpoint.

  A checkpoint that keeps its weights under "state_dict", "model", "teacher" or
  "student" gives those; names lose the "module." (DataParallel) and "backbone." prefixes.
  """
  if path.endswith(".safetensors"):
    return _strip_prefixes(read_safetensors(path))
  return _strip_prefixes(_find_tensors(path, read_torch_checkpoint(path)))


def check_state_dict(path: str, architecture: str, found: Mapping[str, np.ndarray],
                     expected: Mapping[str, Tuple[int, ...]]) -> None:
  """Raises DataError, one line, unless `found` has exactly the `expected` names and shapes.

  Args:
    path: the checkpoint, for the message.
    architecture: what it should be a checkpoint of, for the message ("ResNet-20").
    found: name -> array, as `read_state_dict` returns.
    expected: name -> shape the architecture needs.
  """
  missing, unexpected, wrong = layout_differences(found, expected)
  if missing or unexpected:
    parts = []
    if missing:
      parts.append(f"missing {len(missing)} keys ({listed(missing)})")
    if unexpected:
      parts.append(f"unexpected {len(unexpected)} keys ({listed(unexpected)})")
    raise DataError(f"checkpoint {path}: not a {architecture} checkpoint: "
                    f"{'; '.join(parts)}")
  if wrong:
    raise DataError(f"checkpoint {path}: not a {architecture} checkpoint of this size: "
                    f"{len(wrong)} shapes differ: {listed(wrong)}")


def _find_tensors(path: str, checkpoint: Any) -> Dict[str, np.ndarray]:
  if isinstance(checkpoint, Mapping):
    arrays = {name: value for name, value in checkpoint.items()
              if isinstance(value, np.ndarray)}
    if arrays and len(arrays) == len(checkpoint):
      return dict(arrays)
    for key in _NESTED:
      if isinstance(checkpoint.get(key), Mapping):
        return _find_tensors(path, checkpoint[key])
    if arrays:
      return dict(arrays)
  raise DataError(f"checkpoint {path}: no tensors by name found (top level "
                  f"{_describe(checkpoint)}), expected a state dict or one under "
                  f"{', '.join(repr(key) for key in _NESTED)}")


def _describe(checkpoint: Any) -> str:
  if isinstance(checkpoint, Mapping):
    return "keys " + listed([str(key) for key in checkpoint])
  return type(checkpoint).__name__


def _strip_prefixes(arrays: Dict[str, np.ndarray]) -> Dict[str, np.ndarray]:
  for prefix in _WRAPPER_PREFIXES:
    if arrays and all(name.startswith(prefix) for name in arrays):
      arrays = {name[len(prefix):]: value for name, value in arrays.items()}
  return arrays
