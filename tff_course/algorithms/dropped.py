"""Clients a round left out for a non-finite update: their metrics left out too, and
their number read from a round's metrics."""

from __future__ import annotations


def clients_dropped(metrics) -> int:
  """From a composed learning process's round `metrics`: the clients its aggregator
  dropped (`DropNonFiniteFactory`) plus those packed client calls left out."""
  return int(metrics["aggregator"]["clients_dropped"]) + int(
      metrics["client_work"].get("clients_dropped", 0))


def kept_metrics(metrics, update, weight):
  """In TensorFlow: a client's local unfinalized `metrics` (sums and counts), or zeros
  of the same structure when its update or weight is not finite, so that the client the
  aggregator drops adds no NaN loss to the round's training metrics either."""
  import tensorflow as tf

  from tff_course.aggregators.finite import all_finite

  finite = all_finite(tf.nest.flatten(update) + [weight])
  return tf.nest.map_structure(lambda m: tf.where(finite, m, tf.zeros_like(m)), metrics)
