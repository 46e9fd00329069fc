"""The one place a non-finite client update is dropped: TFF's `add_measurements` wrapper
around a zeroing step, as TFF's zeroing factories and Optax's `apply_if_finite` do.

A client whose update or weight holds a NaN or an infinity reaches the inner aggregator
as zeros with weight zero, so a weighted mean never multiplies NaN by 0, and
`clients_dropped` (int64, at the server) counts such clients. When every client of a
round is dropped the aggregate is NaN, whatever the inner aggregator, so that the
finalizer rejects it as TFF's apply-optimizer finalizer rejects any non-finite update:
the server model (and optimizer state) stay as they were.
"""

from __future__ import annotations

import collections

import numpy as np

from tff_course.aggregators.structure import flatten
from tff_course.runtime.tff_module import tff


def all_finite(tensors):
  """In TensorFlow: True when every element of every tensor in the list is finite."""
  import tensorflow as tf

  return tf.reduce_all([tf.reduce_all(tf.math.is_finite(t)) for t in tensors])


def finite_or_dropped(update, weight):
  """In TensorFlow: (update, weight, 0) when every value of both is finite, else
  (zeros like update, zeros like weight, 1); the count is int64."""
  import tensorflow as tf

  tensors, pack = flatten(update)
  finite = all_finite(tensors + [weight])

  def kept(t):
    return tf.where(finite, t, tf.zeros_like(t))

  return pack([kept(t) for t in tensors]), kept(weight), tf.cast(~finite, tf.int64)


class DropNonFiniteFactory(tff.aggregators.WeightedAggregationFactory):
  """`inner` (a weighted factory, TFF's mean by default) on the clients' updates and
  weights with each non-finite client's zeroed; adds `clients_dropped`, the number of
  such clients, to the inner measurements."""

  def __init__(self, inner=None):
    self.inner = inner

  def create(self, value_type, weight_type):
    @tff.tensorflow.computation(value_type, weight_type)
    def dropped(value, weight):
      return finite_or_dropped(value, weight)[2]

    def count(value, weight):
      return collections.OrderedDict(
          clients_dropped=tff.federated_sum(tff.federated_map(dropped, (value, weight))))

    return tff.aggregators.add_measurements(
        _Zeroing(self.inner or tff.aggregators.MeanFactory()),
        client_measurement_fn=count).create(value_type, weight_type)


def dropping_non_finite(factory=None) -> DropNonFiniteFactory:
  """`factory` (TFF's weighted mean if None) behind a DropNonFiniteFactory, once."""
  return factory if isinstance(factory, DropNonFiniteFactory) else DropNonFiniteFactory(factory)


class _Zeroing(tff.aggregators.WeightedAggregationFactory):
  """`inner`'s process on the values and weights `finite_or_dropped` keeps; its result
  is NaN when it kept no client."""

  def __init__(self, inner):
    self.inner = inner

  def create(self, value_type, weight_type):
    import tensorflow as tf

    inner = self.inner.create(value_type, weight_type)

    @tff.tensorflow.computation(value_type, weight_type)
    def zeroed(value, weight):
      kept_value, kept_weight, dropped = finite_or_dropped(value, weight)
      return kept_value, kept_weight, 1 - dropped

    @tff.tensorflow.computation(inner.next.type_signature.result.result.member,
                                tff.TensorType(np.int64))
    def nan_unless_kept(result, kept):
      tensors, pack = flatten(result)
      return pack([tf.where(kept > 0, t, tf.fill(tf.shape(t), tf.constant(np.nan, t.dtype)))
                   for t in tensors])

    @tff.federated_computation(inner.initialize.type_signature.result,
                               tff.FederatedType(value_type, tff.CLIENTS),
                               tff.FederatedType(weight_type, tff.CLIENTS))
    def next_fn(state, value, weight):
      kept = tff.federated_map(zeroed, (value, weight))
      output = inner.next(state, kept[0], kept[1])
      result = tff.federated_map(nan_unless_kept, (output.result, tff.federated_sum(kept[2])))
      return tff.templates.MeasuredProcessOutput(output.state, result, output.measurements)

    return tff.templates.AggregationProcess(inner.initialize, next_fn)
