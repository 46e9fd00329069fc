"""The clients' updates times their weights, summed and not divided by the weights' sum:
with Horvitz-Thompson weights p_k / (K q_k) (tff_course.sampling.client_selection) the
result is an unbiased estimate of the full-participation mean sum_k p_k update_k."""

from __future__ import annotations

import collections

from tff_course.aggregators.bits import sent_bits
from tff_course.aggregators.bits_up import BitsUpFactory
from tff_course.aggregators.stateless import stateless_aggregation
from tff_course.runtime.tff_module import tff


class WeightedSumFactory(BitsUpFactory):
  """sum_k weight_k x value_k at the server; `bits_up` counts each client's values and
  weight at 32 bits."""

  def bits_per_client(self, value_type, weight_type) -> int:
    return sent_bits(value_type) + sent_bits(weight_type)

  def create_process(self, value_type, weight_type):
    import tensorflow as tf

    @tff.tensorflow.computation(value_type, weight_type)
    def scaled(value, weight):
      return tf.nest.map_structure(lambda v: v * tf.cast(weight, v.dtype), value)

    def aggregate(value, weight):
      return (tff.federated_sum(tff.federated_map(scaled, (value, weight))),
              tff.federated_value(collections.OrderedDict(), tff.SERVER))

    return stateless_aggregation(value_type, weight_type, aggregate)
