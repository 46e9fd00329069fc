"""Client datasets that TFF's workers read from a file instead of receiving them.

Handing TFF a `tf.data.Dataset` per client makes the driver serialize a graph with the
client's examples in it for every client in every round, and the worker deserialize
it: most of the per-round overhead of a simulation and memory that grows round after
round. Here each client's examples are written once, the first time the client is
sampled, as fixed-length records (an int32 label, then the stored example's bytes), to a
file of its own, so that building a federation of 10,000 clients writes nothing and a
run writes only the clients it samples. A client then travels
as two integers, (file number, shuffle seed), and the client's TFF computation reads
its file into tensors, with the same model inputs as `pipeline.model_inputs`, and
trains on them in batches (`tff_course.algorithms.tensor_batches`).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from typing import Dict, Optional, Set

import numpy as np

from tff_course.data.dataset import Modality, Split
from tff_course.runtime.exit_callbacks import cancel, on_exit

LABEL_BYTES = 4
SUFFIX = ".records"
PARTIAL = ".partial"


class ClientRecords:
  """A directory of record files, one per client, of a split's examples.

  Use as a context manager (or call `close`) to delete the files; whatever ends the
  program (but SIGKILL) deletes them too.

  Args:
    split: the training split.
    clients: client id -> indices into `split`, in the order to store them.
    modality: how stored examples become model inputs.
    directory: where to write the files (made if missing; default: a new temporary
      directory). Files of an earlier, killed use of the same directory are deleted.

  A client's file is written when `client_input` first asks for it.
  """

  def __init__(self, split: Split, clients: Dict[str, np.ndarray], modality: Modality,
               directory: Optional[str] = None):
    self.modality = modality
    self.example_shape = tuple(split.x.shape[1:])
    self.example_dtype = np.dtype(split.x.dtype).newbyteorder("=")
    self.record_bytes = LABEL_BYTES + int(np.prod(self.example_shape, dtype=np.int64)
                                          * self.example_dtype.itemsize)
    self._owned = directory is None
    self._split, self._clients = split, clients
    self.numbers: Dict[str, int] = {}
    self._written: Set[int] = set()
    self._exit_token = on_exit(self.close)
    self.directory = directory or tempfile.mkdtemp(prefix="tff-course-clients-")
    os.makedirs(self.directory, exist_ok=True)
    _remove_records(self.directory)
    self.numbers = {client_id: number for number, client_id in enumerate(clients)}

  def client_input(self, client_id: str, shuffle_seed: int) -> np.ndarray:
    """What a client receives: int64 [client file number, shuffle seed]; writes the
    client's file the first time."""
    number = self.numbers[client_id]
    if number not in self._written:
      indices = np.asarray(self._clients[client_id], dtype=np.int64)
      _write_file(_path(self.directory, number),
                  _encode(self._split.x[indices], self._split.y[indices], self.example_dtype))
      self._written.add(number)
    return np.array([number, shuffle_seed], dtype=np.int64)

  def close(self) -> None:
    """Deletes the record files (also those still being written, or left by a killed
    earlier use of the directory), and the directory when it was made for them or is
    left empty; done at exit and on SIGTERM/SIGHUP too if `close` was never called."""
    cancel(self._exit_token)
    directory = getattr(self, "directory", None)
    if directory is None:
      return
    if self._owned:
      shutil.rmtree(directory, ignore_errors=True)
    else:
      _remove_records(directory)
      with contextlib.suppress(OSError):
        os.rmdir(directory)
    self.numbers, self._written = {}, set()

  def __enter__(self) -> "ClientRecords":
    return self

  def __exit__(self, *exc) -> None:
    self.close()

  def read_fn(self):
    """A TensorFlow function: client input -> (model inputs, int32 labels, shuffle seed)
    of that client, its examples read from its record file."""
    directory, decode = self.directory, self.decode_fn()

    def read(client_input):
      import tensorflow as tf

      path = tf.strings.join([directory, os.sep, tf.strings.as_string(client_input[0]),
                              SUFFIX])
      examples, labels = decode(tf.io.read_file(path))
      return examples, labels, client_input[1]

    return read

  def decode_fn(self):
    """A TensorFlow function: a file's bytes -> (model inputs, int32 labels)."""
    import tensorflow as tf

    from tff_course.data.pipeline import model_inputs_tf

    shape, dtype, modality = self.example_shape, self.example_dtype, self.modality
    tf_dtype, record_bytes = tf.as_dtype(dtype), self.record_bytes

    def decode(content):
      raw = tf.reshape(tf.io.decode_raw(content, tf.uint8), [-1, record_bytes])
      labels = tf.bitcast(raw[:, :LABEL_BYTES], tf.int32)
      body = raw[:, LABEL_BYTES:]
      if dtype.itemsize == 1:
        examples = tf.bitcast(tf.reshape(body, [-1, *shape]), tf_dtype)
      else:
        examples = tf.bitcast(tf.reshape(body, [-1, *shape, dtype.itemsize]), tf_dtype)
      return model_inputs_tf(examples, modality), labels

    return decode


def _write_file(path: str, content: bytes) -> None:
  with open(path + PARTIAL, "wb") as file:
    file.write(content)
  os.replace(path + PARTIAL, path)


def _path(directory: str, number: int) -> str:
  return os.path.join(directory, f"{number}{SUFFIX}")


def _encode(x: np.ndarray, y: np.ndarray, example_dtype: np.dtype) -> bytes:
  labels = np.asarray(y, dtype=np.int32).reshape(-1, 1).view(np.uint8)
  examples = np.ascontiguousarray(x, dtype=example_dtype).reshape(len(y), -1).view(np.uint8)
  return np.concatenate([labels, examples], axis=1).tobytes()


def _remove_records(directory: str) -> None:
  for name in _record_files(directory):
    with contextlib.suppress(FileNotFoundError):
      os.remove(os.path.join(directory, name))


def _record_files(directory: str):
  """The names of the record files, whole or being written, in `directory` (none if it
  is gone)."""
  try:
    names = os.listdir(directory)
  except FileNotFoundError:
    return []
  return [name for name in names if name.endswith((SUFFIX, SUFFIX + PARTIAL))]
