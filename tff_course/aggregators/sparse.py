"""A weighted mean of updates that are zero outside fixed masks, sending only the rest.

In sparse fine-tuning every client's update is zero wherever the mask (known to the
server, which broadcast it) is 0. Each client sends, per tensor, only the entries its
mask opens, in a fixed order (no indices needed: the server holds the mask), and its
float32 weight; the server takes the inner weighted mean of those vectors and scatters
them back into full tensors, zeros elsewhere.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from tff_course.aggregators.bits import FLOAT_BITS, sent_bits, tensor_types
from tff_course.aggregators.bits_up import BitsUpFactory
from tff_course.aggregators.structure import flatten
from tff_course.errors import ConfigError
from tff_course.runtime.tff_module import tff


def sparse_bits_per_client(masks: Sequence[np.ndarray], weight_type) -> int:
  """32 bits per entry a mask opens, and the client's weight as it is."""
  return FLOAT_BITS * int(sum(np.count_nonzero(mask) for mask in masks)) + sent_bits(
      weight_type)


class SparseMeanFactory(BitsUpFactory):
  """Weighted mean of client values sent as their masked entries only.

  Args:
    masks: one 0/1 array per tensor of the value, in the value's flattened order.
    inner: the weighted factory that averages the sent vectors (TFF's mean by default).

  Measurements: `bits_up` (int64, bits all clients sent this round) and the inner
  factory's measurements.
  """

  def __init__(self, masks: Sequence[np.ndarray], inner=None):
    self.masks = [np.asarray(mask) for mask in masks]
    self.inner = inner

  def bits_per_client(self, value_type, weight_type) -> int:
    return sparse_bits_per_client(self.masks, weight_type)

  def create_process(self, value_type, weight_type):
    import tensorflow as tf

    shapes = [tuple(t.shape) for t in tensor_types(value_type)]
    if len(shapes) != len(self.masks) or any(
        shape != mask.shape for shape, mask in zip(shapes, self.masks)):
      raise ConfigError(f"masks: shapes {[m.shape for m in self.masks]}, expected the "
                        f"update's {shapes}")
    positions = [np.flatnonzero(mask).astype(np.int64) for mask in self.masks]
    sent_type = tff.StructType([tff.TensorType(np.float32, [len(p)]) for p in positions])
    inner = (self.inner or tff.aggregators.MeanFactory()).create(sent_type, weight_type)

    @tff.tensorflow.computation(value_type)
    def gather(value):
      tensors, _ = flatten(value)
      return [tf.gather(tf.reshape(t, [-1]), where) for t, where in zip(tensors, positions)]

    @tff.tensorflow.computation(inner.next.type_signature.result.result.member)
    def scatter(sent):
      vectors, _ = flatten(sent)
      return [tf.reshape(tf.scatter_nd(where[:, None], vector, [int(np.prod(shape))]), shape)
              for vector, where, shape in zip(vectors, positions, shapes)]

    @tff.federated_computation(inner.initialize.type_signature.result,
                               tff.FederatedType(value_type, tff.CLIENTS),
                               tff.FederatedType(weight_type, tff.CLIENTS))
    def next_fn(state, value, weight):
      output = inner.next(state, tff.federated_map(gather, value), weight)
      return tff.templates.MeasuredProcessOutput(
          output.state, tff.federated_map(scatter, output.result), output.measurements)

    return tff.templates.AggregationProcess(inner.initialize, next_fn)

