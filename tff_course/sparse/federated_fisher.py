"""Federated mask calibration: clients compute Fisher scores on their own data.

The server broadcasts the model (as calibration has masked it so far); each client sums
the squared per-example gradients of its examples (`fisher.py`'s quantity) and counts
its examples; a TFF sum aggregator adds both up at the server, which divides: the
Fisher diagonal over the union of the clients' data, without any example leaving its
client. With empirical targets it equals the central Fisher on that union; with sampled
targets each client draws its own classes (TensorFlow's stateless sampler, seeded by the
seed and the batch), so it equals the central one in expectation.
"""

from __future__ import annotations

from typing import Callable, Dict, List, Sequence

import numpy as np

from tff_course.errors import ConfigError
from tff_course.sparse.fisher import OBJECTIVES, TARGETS, squared_gradient_sums


def build_federated_fisher(model_fn: Callable, positions: Sequence[int], *,
                           targets: str = "sampled", objective: str = "log_prob",
                           seed: int = 0):
  """A federated computation (server model weights, client datasets) -> (summed squared
  gradients of the trainable variables at `positions`, summed example count), at the
  server.

  Args:
    model_fn: returns a fresh `tff.learning.models.VariableModel` (keras_model_fn).
    positions: indices into the model's trainable variables to score.
    targets, objective, seed: as `fisher.fisher_diagonal`'s.
  """
  import tensorflow as tf

  from tff_course.algorithms.client_work import load_weights, model_types
  from tff_course.runtime.tff_module import tff
  from tff_course.sparse.federated import frozen_statistics_intended

  if targets not in TARGETS:
    raise ConfigError(f"targets: got {targets!r}, expected one of {', '.join(TARGETS)}")
  if objective not in OBJECTIVES:
    raise ConfigError(f"objective: got {objective!r}, expected one of {', '.join(OBJECTIVES)}")
  with frozen_statistics_intended():
    weights_type, data_type, _ = model_types(model_fn)
  positions = list(positions)

  def batch_squares(model, variables, batch, batch_index):
    images, labels = batch[0], batch[1]
    if targets == "sampled":
      logits = model.predict_on_batch(images, training=False)
      classes = tf.random.stateless_categorical(
          logits, 1, seed=tf.stack([tf.constant(seed, tf.int64), batch_index]))[:, 0]
    else:
      classes = tf.cast(labels, tf.int64)
    squares = squared_gradient_sums(lambda x: model.predict_on_batch(x, training=False),
                                    variables, images, classes, objective)
    return squares, tf.shape(images)[0]

  @tff.tensorflow.computation(weights_type, data_type)
  def client_fisher(initial_weights, data):
    with frozen_statistics_intended():
      model = model_fn()

    @tf.function
    def run(weights, dataset):
      load_weights(model, weights)
      variables = [tf.nest.flatten(model.trainable_variables)[i] for i in positions]

      def add(state, batch):
        sums, count, batch_index = state
        squares, size = batch_squares(model, variables, batch, batch_index)
        return (tuple(s + q for s, q in zip(sums, squares)),
                count + tf.cast(size, tf.float32), batch_index + 1)

      start = (tuple(tf.zeros_like(v) for v in variables), tf.constant(0.0),
               tf.constant(0, tf.int64))
      sums, count, _ = dataset.reduce(start, add)
      return sums, count

    return run(initial_weights, data)

  @tff.federated_computation(tff.FederatedType(weights_type, tff.SERVER),
                             tff.FederatedType(data_type, tff.CLIENTS))
  def federated_fisher(weights, data):
    scores = tff.federated_map(client_fisher, (tff.federated_broadcast(weights), data))
    return tff.federated_sum(scores)

  return federated_fisher


def federated_sensitivity(model_fn: Callable, keras_model, eligible: Sequence[str],
                          client_datasets: List, **options) -> Callable:
  """model -> Fisher diagonal of its `eligible` variables over `client_datasets`, computed
  by the clients and summed at the server: the federated sensitivity of `calibrate_masks`
  (`options` as `build_federated_fisher`'s)."""
  from tff_course.runtime.tff_module import tff
  from tff_course.sparse.mask_set import variable_key

  keys = [variable_key(v) for v in keras_model.trainable_variables]
  missing = [key for key in eligible if key not in keys]
  if missing:
    raise ConfigError(f"eligible: {', '.join(missing[:3])} not among the model's trainable "
                      f"variables")
  positions = [keys.index(key) for key in eligible]
  computation = build_federated_fisher(model_fn, positions, **options)

  def sensitivity(model) -> Dict[str, np.ndarray]:
    weights = tff.learning.models.ModelWeights.from_model(model)
    weights = tff.learning.models.ModelWeights(
        trainable=[v.numpy() for v in weights.trainable],
        non_trainable=[v.numpy() for v in weights.non_trainable])
    sums, count = computation(weights, client_datasets)
    if count <= 0:
      raise ConfigError("client datasets: no calibration examples, expected at least one")
    return {key: np.asarray(total) / float(count) for key, total in zip(eligible, sums)}

  return sensitivity
