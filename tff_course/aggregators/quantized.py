"""A weighted mean of client updates quantized to n bits, as a `tff.aggregators` factory.

Each client sends, per tensor, n-bit integers and its float32 scale (max |value|);
the server dequantizes and takes the weighted mean with an inner factory (TFF's
weighted mean by default). Rounding is DoReFa's: stochastic (unbiased, the default)
or deterministic (to the nearest level). Stochastic draws are seeded by the round and
a fingerprint of the client's update, so the same run quantizes the same way.
"""

from __future__ import annotations

import numpy as np

from tff_course.aggregators.bits import FLOAT_BITS, num_tensors, num_values, sent_bits
from tff_course.aggregators.bits_up import BitsUpFactory
from tff_course.aggregators.structure import flatten
from tff_course.quantization import check_nbit
from tff_course.runtime.tff_module import tff


def quantized_bits_per_client(value_type, nbit: int) -> int:
  """n bits per value, a float32 scale per tensor and the float32 weight."""
  return nbit * num_values(value_type) + FLOAT_BITS * (num_tensors(value_type) + 1)


class QuantizedMeanFactory(BitsUpFactory):
  """Weighted mean of n-bit quantized client values (n in 1..32).

  Measurements: `bits_up` (int64, bits sent by all clients this round) and the inner
  factory's measurements.
  """

  def __init__(self, nbit: int, *, stochastic: bool = True, inner=None):
    self.nbit = check_nbit(nbit)
    self.stochastic = stochastic
    self.inner = inner

  def bits_per_client(self, value_type, weight_type) -> int:
    return quantized_bits_per_client(value_type, self.nbit)

  def create_process(self, value_type, weight_type):
    import tensorflow as tf

    from tff_course.quantization import dorefa_g_tf

    inner = (self.inner or tff.aggregators.MeanFactory()).create(value_type, weight_type)
    nbit, stochastic = self.nbit, self.stochastic

    @tff.tensorflow.computation(value_type, tff.TensorType(np.int64))
    def quantize_update(value, round_index):
      tensors, pack = flatten(value)
      fingerprint = tf.cast(tf.bitcast(tf.add_n(
          [tf.reduce_sum(t) for t in tensors]), tf.int32), tf.int64)
      quantized = [
          dorefa_g_tf(t, nbit, seed=tf.stack([fingerprint, round_index * len(tensors) + i]))
          if stochastic else dorefa_g_tf(t, nbit, noise=tf.zeros_like(t))
          for i, t in enumerate(tensors)]
      return pack(quantized)

    @tff.federated_computation
    def init_fn():
      return tff.federated_zip((tff.federated_value(np.int64(0), tff.SERVER),
                                inner.initialize()))

    @tff.tensorflow.computation(tff.TensorType(np.int64))
    def advance(round_index):
      return round_index + 1

    @tff.federated_computation(init_fn.type_signature.result,
                               tff.FederatedType(value_type, tff.CLIENTS),
                               tff.FederatedType(weight_type, tff.CLIENTS))
    def next_fn(state, value, weight):
      round_index, inner_state = state[0], state[1]
      quantized = tff.federated_map(quantize_update,
                                    (value, tff.federated_broadcast(round_index)))
      output = inner.next(inner_state, quantized, weight)
      return tff.templates.MeasuredProcessOutput(
          state=tff.federated_zip((tff.federated_map(advance, round_index), output.state)),
          result=output.result, measurements=output.measurements)

    return tff.templates.AggregationProcess(init_fn, next_fn)


class MeanWithBitsFactory(BitsUpFactory):
  """A weighted mean (TFF's by default) that reports `bits_up`: every client's values and
  weight as they are (32 bits each for float32), besides the inner factory's measurements."""

  def __init__(self, inner=None):
    self.inner = inner

  def bits_per_client(self, value_type, weight_type) -> int:
    return sent_bits(value_type) + sent_bits(weight_type)

  def create_process(self, value_type, weight_type):
    return (self.inner or tff.aggregators.MeanFactory()).create(value_type, weight_type)
