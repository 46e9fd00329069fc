"""Packed clients: one TFF client call trains several clients, one after another.

TFF's local runtime makes one TensorFlow call per client and round, with a fixed cost
per call (argument copies, a fresh model, the update's weighting and summation) that
dominates when clients are many and small. A packed slot receives the input rows of
several clients, trains each from the server weights in turn inside one call, and
sends their weighted mean update with their summed weight and metrics. A client whose
update or weight is not finite is left out of its slot's mean and counted, as
`tff_course.aggregators.finite` leaves out a non-finite call. A weighted mean over
slots is then exactly the weighted mean over the kept clients (up to floating-point
rounding), so packing applies to the plain mean aggregator only: aggregators that
look at every client's update (quantized, robust, group-aware) need one call per
client.
"""

from __future__ import annotations

from typing import Callable, List, Sequence

import numpy as np


def stack_rows(rows_dataset):
  """A sequence of int64 input rows (a tf.data.Dataset) as one int64 matrix."""
  return rows_dataset.batch(1 << 30).get_single_element()


def packed_step(client_step: Callable, client_batches: Callable) -> Callable:
  """A client step over a matrix of client input rows, one row a client.

  `client_step(model, initial_weights, batches, rate)` returns (ClientResult, local
  metrics); `client_batches(row)` is a client's training stream. The packed step trains
  every row's client from `initial_weights` and returns the ClientResult of the weighted
  mean update of those with a finite update and weight (weight: the sum of theirs), the
  model's metrics summed over those same clients, and how many it left out (int64).
  """
  import tensorflow as tf

  from tff_course.aggregators.finite import finite_or_dropped
  from tff_course.algorithms.dropped import kept_metrics
  from tff_course.runtime.tff_module import tff

  def step(model, initial_weights, rows, rate):
    total = tuple(tf.zeros_like(w) for w in tf.nest.flatten(initial_weights.trainable))
    weight_sum = tf.constant(0.0)
    dropped = tf.constant(0, tf.int64)
    metrics = tf.nest.map_structure(tf.zeros_like, model.report_local_unfinalized_metrics())
    for index in tf.range(tf.shape(rows)[0]):
      model.reset_metrics()
      result, own = client_step(model, initial_weights, client_batches(rows[index]), rate)
      metrics = tf.nest.map_structure(
          tf.add, metrics, kept_metrics(own, result.update, result.update_weight))
      update, weight, left_out = finite_or_dropped(tf.nest.flatten(result.update),
                                                   result.update_weight)
      total = tuple(t + weight * u for t, u in zip(total, update))
      weight_sum += weight
      dropped += left_out
    scale = tf.math.divide_no_nan(1.0, weight_sum)
    update = tf.nest.pack_sequence_as(initial_weights.trainable, [t * scale for t in total])
    return (tff.learning.templates.ClientResult(update=update, update_weight=weight_sum),
            metrics, dropped)

  return step


def pack_inputs(client_inputs: Sequence[np.ndarray], slots: int) -> List[List[np.ndarray]]:
  """The clients' input rows split, in order, into at most `slots` lists of near-equal
  length (never an empty one)."""
  if slots < 1:
    raise ValueError(f"slots: got {slots}, expected a whole number >= 1")
  if not len(client_inputs):
    return []
  parts = np.array_split(np.arange(len(client_inputs)), min(slots, len(client_inputs)))
  return [[client_inputs[i] for i in part] for part in parts]
