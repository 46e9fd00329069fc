"""FedSGD in its two forms, as TFF learning processes.

McMahan et al. (2017) describe FedSGD as each selected client computing the gradient
g_k of its loss on all its data at the current model w, and the server stepping
w <- w - lr * sum_k n_k g_k / n. Equivalently each client takes that step itself,
w_k = w - lr * g_k, and the server averages the w_k weighted by n_k. The gradient
form is TFF's `build_fed_sgd`; the weight form composes its own client work (one
full-batch step, send the weights) with a finalizer that adopts the average. The two
agree up to floating-point rounding; they part ways as soon as a client takes more
than one step (B < all, or E > 1), which is FedAvg.
"""

from __future__ import annotations

import enum
from typing import Callable, Optional

import numpy as np

from tff_course.errors import ConfigError


class FedSgdForm(enum.Enum):
  GRADIENT = "gradient"
  WEIGHTS = "weights"


def build_fedsgd(model_fn: Callable, *, learning_rate: float, form: str = "gradient",
                 model_aggregator=None):
  """A FedSGD learning process.

  Args:
    model_fn: returns a fresh `tff.learning.models.VariableModel`.
    learning_rate: the SGD step size, > 0.
    form: "gradient" (clients send gradients, the server steps) or "weights" (clients
      step, the server averages weights).
    model_aggregator: a weighted `tff.aggregators` factory (default: weighted mean).

  The clients' datasets should hold all their examples in one batch (B = all) for
  this to be FedSGD; with more batches each client still takes exactly one step, on
  the average gradient over its batches.
  """
  from tff_course.runtime.tff_module import tff

  if not learning_rate > 0:
    raise ConfigError(f"learning_rate: got {learning_rate}, expected a number > 0")
  try:
    form = FedSgdForm(form)
  except ValueError:
    raise ConfigError(f"form: got {form!r}, expected 'gradient' or 'weights'") from None
  if form is FedSgdForm.GRADIENT:
    return tff.learning.algorithms.build_fed_sgd(
        model_fn, server_optimizer_fn=tff.learning.optimizers.build_sgdm(learning_rate),
        model_aggregator=model_aggregator)
  return _build_weight_form(model_fn, learning_rate, model_aggregator)


def _build_weight_form(model_fn: Callable, learning_rate: float,
                       model_aggregator: Optional[object]):
  import tensorflow as tf

  from tff_course.runtime.tff_module import tff

  with tf.Graph().as_default():
    model = model_fn()
    metrics_aggregation = tff.learning.metrics.sum_then_finalize(model.metric_finalizers())
    weights_type = tff.learning.models.weights_type_from_model(model)
  data_type = tff.SequenceType(tff.types.tensorflow_to_type(model.input_spec))
  update_type = weights_type.trainable

  @tff.tensorflow.computation
  def initial_weights():
    return tff.learning.models.ModelWeights.from_model(model_fn())

  client_work = _client_work(model_fn, learning_rate, weights_type, data_type,
                             metrics_aggregation)
  aggregator = (model_aggregator or tff.aggregators.MeanFactory()).create(
      update_type, tff.TensorType(np.float32))
  return tff.learning.templates.compose_learning_process(
      initial_weights, tff.learning.templates.build_broadcast_process(weights_type),
      client_work, aggregator, _adopt_average_finalizer(weights_type, update_type))


def _client_work(model_fn, learning_rate, weights_type, data_type, metrics_aggregation):
  from tff_course.runtime.tff_module import tff

  @tff.federated_computation
  def init_fn():
    return tff.federated_value((), tff.SERVER)

  @tff.tensorflow.computation(weights_type, data_type)
  def client_step(initial_weights, dataset):
    import tensorflow as tf

    model = model_fn()
    step = tf.function(lambda weights, data: _one_full_batch_step(
        model, weights, data, learning_rate))
    return step(initial_weights, dataset)

  @tff.federated_computation(init_fn.type_signature.result,
                             tff.FederatedType(weights_type, tff.CLIENTS),
                             tff.FederatedType(data_type, tff.CLIENTS))
  def next_fn(state, weights, data):
    result, model_outputs = tff.federated_map(client_step, (weights, data))
    measurements = tff.federated_zip({"train": metrics_aggregation(model_outputs)})
    return tff.templates.MeasuredProcessOutput(state, result, measurements)

  return tff.learning.templates.ClientWorkProcess(init_fn, next_fn)


def _one_full_batch_step(model, initial_weights, dataset, learning_rate):
  import tensorflow as tf

  from tff_course.runtime.tff_module import tff

  weights = tff.learning.models.ModelWeights.from_model(model)
  tf.nest.map_structure(lambda variable, value: variable.assign(value), weights,
                        initial_weights)

  def accumulate(state, batch):
    sums, count = state
    with tf.GradientTape() as tape:
      output = model.forward_pass(batch, training=True)
    gradients = tape.gradient(output.loss, weights.trainable,
                              unconnected_gradients=tf.UnconnectedGradients.ZERO)
    examples = tf.cast(output.num_examples, tf.float32)
    return (tuple(s + examples * g for s, g in zip(sums, gradients)), count + examples)

  zeros = tuple(tf.zeros_like(w) for w in weights.trainable)
  sums, count = dataset.reduce((zeros, tf.constant(0.0)), accumulate)
  stepped = [w - learning_rate * s / count for w, s in zip(initial_weights.trainable, sums)]
  finite = tf.reduce_all([tf.reduce_all(tf.math.is_finite(w)) for w in stepped])
  result = tff.learning.templates.ClientResult(
      update=stepped, update_weight=tf.where(finite, count, 0.0))
  return result, model.report_local_unfinalized_metrics()


def _adopt_average_finalizer(weights_type, update_type):
  from tff_course.runtime.tff_module import tff

  @tff.federated_computation
  def init_fn():
    return tff.federated_value((), tff.SERVER)

  @tff.tensorflow.computation(weights_type, update_type)
  def adopt(weights, average):
    return tff.learning.models.ModelWeights(trainable=average,
                                            non_trainable=weights.non_trainable)

  @tff.federated_computation(init_fn.type_signature.result,
                             tff.FederatedType(weights_type, tff.SERVER),
                             tff.FederatedType(update_type, tff.SERVER))
  def next_fn(state, weights, average):
    return tff.templates.MeasuredProcessOutput(
        state, tff.federated_map(adopt, (weights, average)),
        tff.federated_value((), tff.SERVER))

  return tff.learning.templates.FinalizerProcess(init_fn, next_fn)
