"""Bit accounting for aggregators: what every client sends, summed over the clients."""

from __future__ import annotations

import numpy as np

FLOAT_BITS = 32


def num_values(value_type) -> int:
  """Number of scalars in a (structure of) tensor type(s)."""
  return sum(int(np.prod(t.shape, dtype=np.int64)) for t in tensor_types(value_type))


def sent_bits(value_type) -> int:
  """Bits of one (structure of) tensor(s) sent as they are: each dtype's width times
  its number of elements."""
  return sum(8 * np.dtype(t.dtype).itemsize * int(np.prod(t.shape, dtype=np.int64))
             for t in tensor_types(value_type))


def num_tensors(value_type) -> int:
  """Number of tensors in a (structure of) tensor type(s)."""
  return len(tensor_types(value_type))


def federated_bits(client_weights, bits_per_client: int):
  """Inside a federated computation: `bits_per_client` summed over the clients that sent
  a weight (int64 at the server)."""
  import tensorflow as tf

  from tff_course.runtime.tff_module import tff

  @tff.tensorflow.computation(client_weights.type_signature.member)
  def bits(_):
    return tf.constant(bits_per_client, tf.int64)

  return tff.federated_sum(tff.federated_map(bits, client_weights))


def sent_bytes(bits_up, calls: int, clients: int) -> int:
  """Bytes `clients` sent, from an aggregator's `bits_up` summed over `calls` client
  calls. Calls that packed several clients (a plain mean, where every client sends the
  same bits) stand for each of their clients."""
  return int(bits_up) * clients // calls // 8


def tensor_types(value_type) -> list:
  """The tensor types in a (structure of) tensor type(s), in flattened order."""
  from tff_course.runtime.tff_module import tff

  if isinstance(value_type, tff.TensorType):
    return [value_type]
  if isinstance(value_type, tff.StructType):
    return [t for _, member in tff.structure.to_elements(value_type)
            for t in tensor_types(member)]
  raise TypeError(f"value_type: got {value_type}, expected tensors or structures of them")

