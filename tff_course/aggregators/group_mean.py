"""A group-aware mean: every group of clients weighs the same, however many clients
(or examples) it has this round.

Clients send their update and a float32 weight vector with their example count in
their group's slot (see `build_client_work(num_groups=...)`). The server sums the
vectors into per-group totals W_g and broadcasts coefficients 1 / (G' W_g), G' the
number of groups present; each client scales its update by its group's coefficient
times its count, and the sum is mean_g (sum_{k in g} n_k u_k / W_g). Plain per-client
weighting (`MeanWithBitsFactory`) is instead sum_k n_k u_k / sum_k n_k, which lets a
group with many sampled clients dominate.
"""

from __future__ import annotations

from tff_course.aggregators.bits import FLOAT_BITS, num_values
from tff_course.aggregators.bits_up import BitsUpFactory
from tff_course.aggregators.stateless import stateless_aggregation
from tff_course.aggregators.structure import flatten
from tff_course.errors import ConfigError
from tff_course.runtime.tff_module import tff


class GroupMeanFactory(BitsUpFactory):
  """Mean over groups of each group's example-weighted mean.

  Takes float32[G] weights. Measurements: `bits_up` (int64; per client its float32
  update, its count and its group id) and `group_weights` (the per-group totals W_g).
  """

  def bits_per_client(self, value_type, weight_type) -> int:
    return FLOAT_BITS * (num_values(value_type) + 2)

  def create_process(self, value_type, weight_type):
    import tensorflow as tf

    if not (isinstance(weight_type, tff.TensorType) and len(weight_type.shape) == 1):
      raise ConfigError(f"weight_type: got {weight_type}, expected float32[num_groups] "
                        f"weights (build the algorithm with num_groups)")

    @tff.tensorflow.computation(weight_type)
    def coefficients(totals):
      present = tf.reduce_sum(tf.cast(totals > 0, tf.float32))
      return tf.math.divide_no_nan(tf.ones_like(totals), totals * present)

    @tff.tensorflow.computation(value_type, weight_type, weight_type)
    def scale(value, weight, group_coefficients):
      factor = tf.reduce_sum(weight * group_coefficients)
      tensors, pack = flatten(value)
      return pack([t * factor for t in tensors])

    def aggregate(value, weight):
      totals = tff.federated_sum(weight)
      group_coefficients = tff.federated_broadcast(tff.federated_map(coefficients, totals))
      scaled = tff.federated_map(scale, (value, weight, group_coefficients))
      return tff.federated_sum(scaled), tff.federated_zip({"group_weights": totals})

    return stateless_aggregation(value_type, weight_type, aggregate)
