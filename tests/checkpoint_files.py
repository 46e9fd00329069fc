"""Checkpoint files written without PyTorch, for tests: torch.save's zip format and
safetensors, holding a state dict of float32 NumPy arrays.

The zip file has what torch.save (PyTorch >= 1.6) writes for a state dict: archive/data.pkl,
a protocol-2 pickle of an OrderedDict (with the `_metadata` attribute a module's
state_dict carries) whose tensors reduce to torch._utils._rebuild_tensor_v2 over
persistent references ('storage', torch.FloatStorage, key, 'cpu', numel); each storage's
little-endian bytes in archive/data/<key>; archive/byteorder and archive/version.
"""

import collections
import io
import json
import pickle
import struct
import zipfile

import numpy as np


class _Global:
  """A global the pickle names (module and name) without importing it."""

  def __init__(self, module, name):
    self.module, self.name = module, name

  def __call__(self, *unused):
    raise TypeError(f"{self.module}.{self.name} is only named, not called")


class _Storage:

  def __init__(self, key, array):
    self.reference = ("storage", _Global("torch", "FloatStorage"), key, "cpu", array.size)


class _Tensor:

  def __init__(self, storage, array):
    self.storage, self.shape = storage, array.shape
    self.stride = tuple(s // array.itemsize for s in array.strides)

  def __reduce__(self):
    return (_Global("torch._utils", "_rebuild_tensor_v2"),
            (self.storage, 0, self.shape, self.stride, False, collections.OrderedDict()))


class _TorchPickler(pickle._Pickler):  # The Python pickler, whose `save` can be extended.

  def persistent_id(self, obj):
    return obj.reference if isinstance(obj, _Storage) else None

  def save(self, obj, save_persistent_id=True):
    if isinstance(obj, _Global):
      self.write(pickle.GLOBAL + f"{obj.module}\n{obj.name}\n".encode("ascii"))
      return
    super().save(obj, save_persistent_id)


def write_torch_zip(path, state):
  """Writes `state` (name -> array) as torch.save(state_dict) would, as float32."""
  arrays = {name: np.ascontiguousarray(value, dtype="<f4") for name, value in state.items()}
  pickled = collections.OrderedDict(
      (name, _Tensor(_Storage(str(index), array), array))
      for index, (name, array) in enumerate(arrays.items()))
  pickled._metadata = collections.OrderedDict([("", {"version": 1})])
  buffer = io.BytesIO()
  _TorchPickler(buffer, protocol=2).dump(pickled)
  with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
    archive.writestr("archive/data.pkl", buffer.getvalue())
    archive.writestr("archive/byteorder", "little")
    for index, array in enumerate(arrays.values()):
      archive.writestr(f"archive/data/{index}", array.tobytes())
    archive.writestr("archive/version", "3\n")


def write_safetensors(path, state):
  """Writes `state` (name -> array) as a safetensors file of float32 tensors."""
  header, chunks, offset = {"__metadata__": {"format": "pt"}}, [], 0
  for name, value in state.items():
    data = np.ascontiguousarray(value, dtype="<f4").tobytes()
    header[name] = {"dtype": "F32", "shape": list(np.shape(value)),
                    "data_offsets": [offset, offset + len(data)]}
    chunks.append(data)
    offset += len(data)
  encoded = json.dumps(header).encode("utf-8")
  encoded += b" " * (-len(encoded) % 8)
  with open(path, "wb") as stream:
    stream.write(struct.pack("<Q", len(encoded)) + encoded)
    for chunk in chunks:
      stream.write(chunk)
