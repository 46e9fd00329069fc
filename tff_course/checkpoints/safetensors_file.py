"""safetensors files (Hugging Face's format, timm's published weights) read with NumPy.

A file is an 8-byte little-endian header length, a JSON header mapping each tensor's
name to its dtype, shape and [begin, end) byte offsets into the data that follows, and
the data. An optional "__metadata__" entry holds strings.
"""

from __future__ import annotations

import json
import struct
from typing import Dict

import numpy as np

from tff_course.errors import DataError

_DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "BF16": "bf16", "I64": "<i8",
           "I32": "<i4", "I16": "<i2", "I8": "i1", "U8": "u1", "BOOL": "?"}


def read_safetensors(path: str) -> Dict[str, np.ndarray]:
  """Name -> array of every tensor in the safetensors file at `path` (bf16 as float32).

  Raises:
    DataError: the file is missing, truncated, or not in the safetensors format.
  """
  try:
    with open(path, "rb") as handle:
      data = handle.read()
  except OSError as error:
    raise DataError(f"checkpoint {path}: cannot be read ({error.strerror})") from None
  if len(data) < 8:
    raise DataError(f"checkpoint {path}: {len(data)} bytes, expected a safetensors file")
  (length,) = struct.unpack("<Q", data[:8])
  try:
    header = json.loads(data[8:8 + length].decode("utf-8"))
  except (UnicodeDecodeError, json.JSONDecodeError):
    raise DataError(f"checkpoint {path}: no JSON header, expected a safetensors "
                    f"file") from None
  body = memoryview(data)[8 + length:]
  return {name: _tensor(path, name, entry, body)
          for name, entry in header.items() if name != "__metadata__"}


def _tensor(path: str, name: str, entry: dict, body: memoryview) -> np.ndarray:
  dtype = _DTYPES.get(entry.get("dtype"))
  if dtype is None:
    raise DataError(f"checkpoint {path}: tensor {name} has dtype {entry.get('dtype')!r}, "
                    f"expected one of {', '.join(_DTYPES)}")
  begin, end = entry["data_offsets"]
  shape = tuple(entry["shape"])
  if end > len(body):
    raise DataError(f"checkpoint {path}: truncated in tensor {name} (needs byte {end:,}, "
                    f"the data has {len(body):,})")
  if dtype == "bf16":
    raw = np.frombuffer(body[begin:end], "<u2").astype(np.uint32) << 16
    return raw.view(np.float32).reshape(shape)
  return np.frombuffer(body[begin:end], dtype).astype(np.dtype(dtype).newbyteorder("=")
                                                      ).reshape(shape)
