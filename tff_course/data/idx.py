"""Reader for the IDX format of MNIST and Fashion-MNIST (gzip-compressed or plain).

Format (LeCun et al.): a big-endian header of a magic number whose third byte is the
element type (0x08 = unsigned byte) and whose fourth is the number of dimensions, then
one uint32 per dimension, then the data in row-major order.
"""

from __future__ import annotations

import gzip
import os
import zlib
from typing import Optional

import numpy as np

from tff_course.atomic import atomic_path
from tff_course.errors import DataError

_UNSIGNED_BYTE = 0x08


def read_idx(path: str, *, expected_ndim: int, limit: Optional[int] = None) -> np.ndarray:
  """Reads an IDX file of unsigned bytes.

  Args:
    path: the file, gzip-compressed if its name ends in `.gz`.
    expected_ndim: 1 for labels, 3 for images.
    limit: read only the first `limit` records (a small slice for quick work).

  Returns:
    A uint8 array of shape (N, ...) with N the header count, or `limit` if smaller.

  Raises:
    DataError: the file is missing, truncated, corrupt or not an IDX file of that shape.
  """
  if not os.path.isfile(path):
    raise DataError(f"{path}: file not found")
  opener = gzip.open if path.endswith(".gz") else open
  try:
    with opener(path, "rb") as stream:
      dims = _read_header(stream, path, expected_ndim)
      count = dims[0] if limit is None else min(dims[0], limit)
      record_size = int(np.prod(dims[1:], dtype=np.int64))
      payload = stream.read(count * record_size)
  except (EOFError, OSError, zlib.error) as error:
    raise DataError(f"{path}: corrupt or truncated file ({error})") from None
  if len(payload) != count * record_size:
    raise DataError(
        f"{path}: truncated: the header promises {dims[0]:,} records of {record_size} "
        f"bytes, the file holds {len(payload) // max(record_size, 1):,}")
  return np.frombuffer(payload, dtype=np.uint8).reshape((count, *dims[1:]))


def _read_header(stream, path: str, expected_ndim: int) -> tuple:
  magic = stream.read(4)
  if len(magic) != 4:
    raise DataError(f"{path}: truncated: the file ends inside the IDX header")
  if magic[0] != 0 or magic[1] != 0 or magic[2] != _UNSIGNED_BYTE:
    raise DataError(
        f"{path}: not an IDX file of unsigned bytes (magic bytes {magic.hex()}, "
        f"expected 0000{_UNSIGNED_BYTE:02x}0{expected_ndim})")
  if magic[3] != expected_ndim:
    raise DataError(
        f"{path}: IDX file has {magic[3]} dimensions, expected {expected_ndim}")
  raw_dims = stream.read(4 * expected_ndim)
  if len(raw_dims) != 4 * expected_ndim:
    raise DataError(f"{path}: truncated: the file ends inside the IDX header")
  return tuple(int(d) for d in np.frombuffer(raw_dims, dtype=">u4"))


def write_idx(path: str, array: np.ndarray) -> None:
  """Writes a uint8 array as an IDX file (gzip-compressed if `path` ends in `.gz`)."""
  array = np.ascontiguousarray(array, dtype=np.uint8)
  header = bytes([0, 0, _UNSIGNED_BYTE, array.ndim]) + np.asarray(
      array.shape, dtype=">u4").tobytes()
  opener = gzip.open if path.endswith(".gz") else open
  with atomic_path(path) as temp, opener(temp, "wb") as stream:
    stream.write(header + array.tobytes())
