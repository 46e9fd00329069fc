"""Byzantine-robust aggregators: coordinate-wise median, trimmed mean and (Multi-)Krum.

Each is a `tff.aggregators.WeightedAggregationFactory`, so it can replace
`tff.aggregators.MeanFactory()` as a learning process's `model_aggregator`. The
server needs every client's value, so `next` gathers them with
`tff.federated_aggregate` whose accumulator concatenates along a new leading
dimension of unknown size (TFF 0.87 has no `federated_collect`; the same pattern
as `tff.aggregators.federated_sample`, without its sampling). There is no limit
on the number of clients; gathering n clients copies O(n^2) values.

The example weights only decide who takes part: a client whose weight is not
positive (`DropNonFiniteFactory` gives a non-finite update weight 0) is left out,
whatever its value, and the rest count equally. State is `()` at the
server. Measurements: `bits_up`, an int64, the bits all clients sent (each value's
bit width times its number of elements, plus the weight's bit width, summed over
every client, excluded ones included).
"""

from __future__ import annotations

import collections
import numbers

import numpy as np
import tensorflow as tf

from tff_course.aggregators.bits import sent_bits
from tff_course.aggregators.bits_up import BitsUpFactory
from tff_course.aggregators.stateless import stateless_aggregation
from tff_course.errors import ConfigError
from tff_course.runtime.tff_module import tff


class _GatheringFactory(BitsUpFactory):
  """Gathers the clients' values at the server and combines them with `_combine`."""

  def _combine(self, stacked):
    """Maps a list of [n, ...] tensors (n >= 0 clients) to the list of aggregates."""
    raise NotImplementedError

  def bits_per_client(self, value_type, weight_type) -> int:
    return sent_bits(weight_type) + sent_bits(value_type)

  def create_process(self, value_type, weight_type):
    leaf_types, template = _leaf_types(value_type)
    weight_type = _check_weight_type(weight_type)
    stack_type = tff.to_type((tuple(tff.TensorType(t.dtype, (None,) + tuple(t.shape))
                                    for t in leaf_types),
                              tff.TensorType(np.float32, (None,))))

    @tff.tensorflow.computation
    def empty():
      return (tuple(tf.zeros((0,) + tuple(t.shape), t.dtype) for t in leaf_types),
              tf.zeros((0,), tf.float32))

    @tff.tensorflow.computation(stack_type, (value_type, weight_type))
    def accumulate(stack, client):
      value, weight = client
      return _concat(stack, (tuple(v[tf.newaxis] for v in tf.nest.flatten(value)),
                             tf.reshape(tf.cast(weight, tf.float32), (1,))))

    @tff.tensorflow.computation(stack_type, stack_type)
    def merge(first, second):
      return _concat(first, second)

    @tff.tensorflow.computation(stack_type)
    def report(stack):
      values, weights = stack
      kept = [tf.boolean_mask(v, weights > 0) for v in values]
      return tf.nest.pack_sequence_as(template, self._combine(kept))

    def aggregate(value, weight):
      gathered = tff.federated_aggregate(tff.federated_zip((value, weight)), empty(),
                                         accumulate, merge, report)
      return gathered, tff.federated_value(collections.OrderedDict(), tff.SERVER)

    return stateless_aggregation(value_type, weight_type, aggregate)


class CoordinateMedianFactory(_GatheringFactory):
  """Coordinate-wise median of the clients' values (mean of the middle two for even n)."""

  def _combine(self, stacked):
    n = tf.shape(stacked[0])[0]
    return [_sorted_slice_mean(x, (n - 1) // 2, n - (n - 1) // 2) for x in stacked]


class TrimmedMeanFactory(_GatheringFactory):
  """Per coordinate, drops the floor(trim_fraction * n) largest and smallest of the n
  clients' values and averages the rest."""

  def __init__(self, trim_fraction: float):
    if (isinstance(trim_fraction, bool) or not isinstance(trim_fraction, numbers.Real)
        or not 0 <= trim_fraction < 0.5):
      raise ConfigError(f"trim_fraction: got {trim_fraction!r}, "
                        "expected a number in [0, 0.5)")
    self.trim_fraction = float(trim_fraction)

  def _combine(self, stacked):
    n = tf.shape(stacked[0])[0]
    trim = tf.cast(tf.floor(tf.cast(n, tf.float64) * self.trim_fraction), tf.int32)
    return [_sorted_slice_mean(x, trim, n - trim) for x in stacked]


class KrumFactory(_GatheringFactory):
  """Krum (Blanchard et al. 2017), or Multi-Krum for num_selected > 1.

  Scores each client by the sum of squared distances from its value (all tensors
  flattened together) to the n - num_byzantine - 2 nearest other values and averages
  the num_selected lowest-scoring values (ties: the earlier client). Needs
  n > 2 * num_byzantine + 2 and n >= num_byzantine + num_selected clients with positive
  weight; with fewer, `next` fails on a TensorFlow assertion whose message says so (in
  the toolkit's context the worker reports it as a `grpc.RpcError`).
  """

  def __init__(self, num_byzantine: int, num_selected: int = 1):
    _check_int("num_byzantine", num_byzantine, 0)
    _check_int("num_selected", num_selected, 1)
    self.num_byzantine = int(num_byzantine)
    self.num_selected = int(num_selected)

  def min_clients(self) -> int:
    """The fewest clients with positive weight that `next` accepts."""
    return max(2 * self.num_byzantine + 3, self.num_byzantine + self.num_selected)

  def _combine(self, stacked):
    n = tf.shape(stacked[0])[0]
    check = tf.debugging.assert_greater_equal(
        n, self.min_clients(),
        message=(f"KrumFactory(num_byzantine={self.num_byzantine}, num_selected="
                 f"{self.num_selected}): needs at least {self.min_clients()} clients "
                 "with positive weight"))
    with tf.control_dependencies([check]):
      n = tf.identity(n)
    scores = _krum_scores(_squared_distances(stacked), n - self.num_byzantine - 2)
    selected = tf.math.top_k(-scores, k=self.num_selected).indices
    return [tf.reduce_mean(tf.gather(x, selected), axis=0) for x in stacked]


def _leaf_types(value_type):
  """(leaf TensorTypes in tf.nest order, a structure of leaf indices like value_type)."""
  leaves = []

  def index(tensor_type):
    leaves.append(tensor_type)
    return len(leaves) - 1

  try:
    template = tff.types.structure_from_tensor_type_tree(index, value_type)
  except (TypeError, ValueError) as e:
    raise ConfigError(f"value_type: got {value_type}, expected a structure of "
                      "float tensors") from e
  ordered = [leaves[i] for i in tf.nest.flatten(template)]
  if not ordered or not all(
      np.issubdtype(t.dtype, np.floating) and tff.types.is_shape_fully_defined(t.shape)
      for t in ordered):
    raise ConfigError(f"value_type: got {value_type}, expected a non-empty structure "
                      "of float tensors of fully defined shapes")
  return ordered, template


def _check_weight_type(weight_type):
  weight_type = tff.to_type(weight_type)
  if not (isinstance(weight_type, tff.TensorType) and weight_type.shape is not None
          and tuple(weight_type.shape) == ()
          and (np.issubdtype(weight_type.dtype, np.floating)
               or np.issubdtype(weight_type.dtype, np.integer))):
    raise ConfigError(f"weight_type: got {weight_type}, expected a numeric scalar")
  return weight_type


def _check_int(name, value, minimum):
  if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
    raise ConfigError(f"{name}: got {value!r}, expected an integer >= {minimum}")


def _concat(first, second):
  return tf.nest.map_structure(lambda a, b: tf.concat([a, b], axis=0), first, second)


def _sorted_slice_mean(stacked, start, stop):
  """Mean of positions [start, stop) of `stacked` sorted along axis 0 (zeros if empty)."""
  middle = tf.sort(stacked, axis=0)[start:stop]
  count = tf.cast(tf.shape(middle)[0], stacked.dtype)
  return tf.math.divide_no_nan(tf.reduce_sum(middle, axis=0), count)


def _squared_distances(stacked):
  """[n, n] float64 squared Euclidean distances between the clients' flattened values."""
  n = tf.shape(stacked[0])[0]
  flat = tf.concat([tf.reshape(tf.cast(x, tf.float64), (n, -1)) for x in stacked], axis=1)
  norms = tf.reduce_sum(tf.square(flat), axis=1)
  gram = tf.matmul(flat, flat, transpose_b=True)
  return tf.maximum(norms[:, tf.newaxis] + norms[tf.newaxis, :] - 2 * gram, 0)


def _krum_scores(distances, num_nearest):
  """Each row's sum of its `num_nearest` smallest off-diagonal entries."""
  n = tf.shape(distances)[0]
  others = tf.linalg.set_diag(distances, tf.fill([n], tf.constant(np.inf, tf.float64)))
  return tf.reduce_sum(tf.sort(others, axis=1)[:, :num_nearest], axis=1)
