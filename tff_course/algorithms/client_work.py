"""Client work processes: the federated skeleton shared by the toolkit's own client work.

A client work process maps (server state, model weights at clients, client data) to
client results and aggregated training metrics; only the per-client TensorFlow step
differs between algorithms. `model_types` reads the types once, `build_client_work`
wraps a step into a `tff.learning.templates.ClientWorkProcess`.
"""

from __future__ import annotations

from typing import Callable

import tensorflow as tf


def model_types(model_fn: Callable):
  """(model weights type, client data type, metrics aggregation) of `model_fn`'s model."""
  from tff_course.runtime.tff_module import tff

  with tf.Graph().as_default():
    model = model_fn()
    metrics_aggregation = tff.learning.metrics.sum_then_finalize(model.metric_finalizers())
    weights_type = tff.learning.models.weights_type_from_model(model)
  data_type = tff.SequenceType(tff.types.tensorflow_to_type(model.input_spec))
  return weights_type, data_type, metrics_aggregation


def build_client_work(model_fn: Callable, client_step: Callable):
  """A ClientWorkProcess running `client_step(model, initial_weights, dataset)` per client.

  `client_step` runs inside a tf.function on a fresh model and returns
  (ClientResult, the model's local unfinalized metrics).
  """
  from tff_course.runtime.tff_module import tff

  weights_type, data_type, metrics_aggregation = model_types(model_fn)

  @tff.federated_computation
  def init_fn():
    return tff.federated_value((), tff.SERVER)

  @tff.tensorflow.computation(weights_type, data_type)
  def client_update(initial_weights, dataset):
    model = model_fn()
    return tf.function(lambda weights, data: client_step(model, weights, data))(
        initial_weights, dataset)

  @tff.federated_computation(init_fn.type_signature.result,
                             tff.FederatedType(weights_type, tff.CLIENTS),
                             tff.FederatedType(data_type, tff.CLIENTS))
  def next_fn(state, weights, data):
    result, model_outputs = tff.federated_map(client_update, (weights, data))
    measurements = tff.federated_zip({"train": metrics_aggregation(model_outputs)})
    return tff.templates.MeasuredProcessOutput(state, result, measurements)

  return tff.learning.templates.ClientWorkProcess(init_fn, next_fn)


def load_weights(model, initial_weights):
  """Assigns `initial_weights` to the model's variables; returns its ModelWeights."""
  from tff_course.runtime.tff_module import tff

  weights = tff.learning.models.ModelWeights.from_model(model)
  tf.nest.map_structure(lambda variable, value: variable.assign(value), weights,
                        initial_weights)
  return weights


def all_finite(tensors) -> tf.Tensor:
  """True when every element of every tensor is finite."""
  return tf.reduce_all([tf.reduce_all(tf.math.is_finite(t)) for t in tf.nest.flatten(tensors)])
