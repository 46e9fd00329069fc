"""PyTorch checkpoints read without PyTorch: `torch.save`'s zip format and its legacy format.

Both formats pickle the saved object with tensors replaced by references to storages
(flat typed buffers). The zip format (PyTorch >= 1.6) keeps the pickle in
`<name>/data.pkl` and each storage in `<name>/data/<key>`; the legacy format writes a
magic number, a protocol version and system information as three pickles, then the
object, then the list of storage keys, then each storage as an 8-byte element count
followed by its elements. Tensors come back as NumPy arrays.

Only the globals a checkpoint of tensors, dicts and numbers needs are rebuilt; any other
class or function in the pickle is refused by name, so a file cannot run code on load.
"""

from __future__ import annotations

import argparse
import collections
import io
import pickle
import struct
import zipfile
from typing import Any, Callable, Dict, Optional

import numpy as np

from tff_course.errors import DataError

_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
_LEGACY_PROTOCOL = 1001
_STORAGE_DTYPES = {
    "DoubleStorage": np.float64, "FloatStorage": np.float32, "HalfStorage": np.float16,
    "BFloat16Storage": "bfloat16", "LongStorage": np.int64, "IntStorage": np.int32,
    "ShortStorage": np.int16, "CharStorage": np.int8, "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}


class _StorageType:
  """What a pickled `torch.FloatStorage` (and the like) stands for: an element type."""

  def __init__(self, name: str):
    self.name = name
    self.bfloat16 = _STORAGE_DTYPES[name] == "bfloat16"
    self.dtype = np.dtype(np.uint16 if self.bfloat16 else _STORAGE_DTYPES[name])

  def array(self, buffer: bytes, count: int, byteorder: str = "<") -> np.ndarray:
    values = np.frombuffer(buffer, self.dtype.newbyteorder(byteorder), count=count)
    if self.bfloat16:
      return (values.astype(np.uint32) << 16).view(np.float32)
    return values.astype(self.dtype.newbyteorder("="))


def read_torch_checkpoint(path: str) -> Any:
  """The object `torch.save` wrote to `path`, with every tensor as a NumPy array.

  Raises:
    DataError: the file is missing, is not a PyTorch checkpoint, is truncated, or
      needs a class other than tensors, storages, dicts and numbers.
  """
  try:
    with open(path, "rb") as handle:
      data = handle.read()
  except OSError as error:
    raise DataError(f"checkpoint {path}: cannot be read ({error.strerror})") from None
  try:
    if zipfile.is_zipfile(io.BytesIO(data)):
      return _read_zip(path, data)
    return _read_legacy(path, data)
  except (pickle.UnpicklingError, EOFError, struct.error, KeyError, ValueError,
          TypeError, IndexError, zipfile.BadZipFile) as error:
    if isinstance(error, DataError):
      raise
    raise DataError(f"checkpoint {path}: not a readable PyTorch checkpoint "
                    f"({type(error).__name__}: {error})") from None


def _read_zip(path: str, data: bytes) -> Any:
  with zipfile.ZipFile(io.BytesIO(data)) as archive:
    names = archive.namelist()
    pickles = [name for name in names if name.endswith("/data.pkl") or name == "data.pkl"]
    if not pickles:
      raise DataError(f"checkpoint {path}: a zip file without data.pkl, expected one "
                      f"written by torch.save")
    prefix = pickles[0][:-len("data.pkl")]
    byteorder = "<"
    if f"{prefix}byteorder" in names:
      byteorder = ">" if archive.read(f"{prefix}byteorder").strip() == b"big" else "<"
    cache: Dict[str, np.ndarray] = {}

    def storage(storage_type: _StorageType, key: str, count: int) -> np.ndarray:
      if key not in cache:
        cache[key] = storage_type.array(archive.read(f"{prefix}data/{key}"), count,
                                        byteorder)
      return cache[key]

    def load(reference: tuple) -> np.ndarray:
      _check_reference(path, reference)
      _, storage_type, key, _, count = reference[:5]
      return storage(storage_type, str(key), int(count))

    return _Unpickler(path, io.BytesIO(archive.read(pickles[0])), load).load()


def _read_legacy(path: str, data: bytes) -> Any:
  stream = io.BytesIO(data)
  header = _Unpickler(path, stream, None)
  magic = header.load()
  if magic != _LEGACY_MAGIC:
    raise DataError(f"checkpoint {path}: neither a zip archive nor a legacy torch.save file "
                    f"(no magic number), expected a file written by torch.save")
  protocol = header.load()
  if protocol != _LEGACY_PROTOCOL:
    raise DataError(f"checkpoint {path}: legacy protocol {protocol!r}, expected "
                    f"{_LEGACY_PROTOCOL}")
  system = header.load()
  byteorder = "<" if system.get("little_endian", True) else ">"
  references: Dict[str, tuple] = {}

  def remember(reference: tuple) -> tuple:
    _check_reference(path, reference)
    references.setdefault(str(reference[2]), reference)
    return ("pending", reference)

  saved = _Unpickler(path, stream, remember).load()
  keys = _Unpickler(path, stream, None).load()
  storages: Dict[str, np.ndarray] = {}
  for key in keys:
    header = stream.read(8)
    if len(header) != 8:
      raise DataError(f"checkpoint {path}: truncated before storage {key}")
    count = struct.unpack(f"{byteorder}q", header)[0]
    storage_type = references[str(key)][1]
    size = count * storage_type.dtype.itemsize
    buffer = stream.read(size)
    if len(buffer) != size:
      raise DataError(f"checkpoint {path}: truncated in storage {key} ({len(buffer):,} of "
                      f"{size:,} bytes)")
    storages[str(key)] = storage_type.array(buffer, count, byteorder)
  return _resolve(saved, storages)


def _check_reference(path: str, reference) -> None:
  if not (isinstance(reference, tuple) and reference and reference[0] == "storage"
          and isinstance(reference[1], _StorageType)):
    raise DataError(f"checkpoint {path}: persistent reference {reference!r}, expected "
                    f"('storage', <type>, key, ...)")


class _PendingTensor:
  """A tensor of the legacy format, whose storage is read after the object's pickle."""

  def __init__(self, reference: tuple, offset: int, size, stride):
    self.reference, self.offset, self.size, self.stride = reference, offset, size, stride


def _resolve(value, storages: Dict[str, np.ndarray]):
  if isinstance(value, _PendingTensor):
    storage = storages[str(value.reference[2])]
    view = value.reference[5] if len(value.reference) > 5 else None
    if view is not None:
      _, start, length = view
      storage = storage[int(start):int(start) + int(length)]
    return _tensor(storage, value.offset, value.size, value.stride)
  if isinstance(value, collections.OrderedDict):
    return collections.OrderedDict((key, _resolve(item, storages))
                                   for key, item in value.items())
  if isinstance(value, dict):
    return {key: _resolve(item, storages) for key, item in value.items()}
  if isinstance(value, (list, tuple)):
    return type(value)(_resolve(item, storages) for item in value)
  return value


def _tensor(storage: np.ndarray, offset: int, size, stride) -> np.ndarray:
  size, stride = tuple(int(s) for s in size), tuple(int(s) for s in stride)
  if not size:
    return np.array(storage[offset])
  view = np.lib.stride_tricks.as_strided(
      storage[offset:], shape=size, strides=tuple(s * storage.itemsize for s in stride),
      writeable=False)
  return np.array(view)


def _rebuild_tensor(storage, offset, size, stride, *unused):
  if isinstance(storage, tuple) and storage[0] == "pending":
    return _PendingTensor(storage[1], int(offset), size, stride)
  return _tensor(storage, int(offset), size, stride)


def _rebuild_parameter(data, *unused):
  return data


def _rebuild_from_type(function, unused_type, arguments, unused_state):
  return function(*arguments)


class _Marker:
  """A class the pickle names only to say what a value is (a Parameter, a Tensor)."""


def _scalar(dtype: np.dtype, data: Optional[bytes] = None):
  return np.frombuffer(data, dtype, count=1)[0] if data is not None else dtype.type()


_GLOBALS: Dict[tuple, Callable] = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
    ("torch._tensor", "_rebuild_from_type_v2"): _rebuild_from_type,
    ("torch.nn.parameter", "Parameter"): _Marker,
    ("torch._tensor", "Tensor"): _Marker,
    ("torch", "Tensor"): _Marker,
    ("torch", "Size"): tuple,
    ("argparse", "Namespace"): argparse.Namespace,
    ("numpy.core.multiarray", "scalar"): _scalar,
    ("numpy._core.multiarray", "scalar"): _scalar,
    ("numpy", "dtype"): np.dtype,
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
}


class _Unpickler(pickle.Unpickler):
  """Unpickles with `load_reference` for storages and only the globals above."""

  def __init__(self, path: str, stream, load_reference: Optional[Callable]):
    super().__init__(stream, encoding="latin1")
    self._path = path
    self._load_reference = load_reference

  def find_class(self, module: str, name: str):
    if module == "torch" and name in _STORAGE_DTYPES:
      return _StorageType(name)
    if (module, name) in _GLOBALS:
      return _GLOBALS[(module, name)]
    raise DataError(f"checkpoint {self._path}: it needs {module}.{name}, which this reader "
                    f"does not rebuild (it reads tensors, dicts, lists and numbers)")

  def persistent_load(self, reference):
    if self._load_reference is None:
      raise DataError(f"checkpoint {self._path}: a storage reference where none belongs")
    return self._load_reference(tuple(reference))
