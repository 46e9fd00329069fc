"""Ditto (Li, Hu, Beirami and Smith, "Ditto: Fair and Robust Federated Learning Through
Personalization", ICML 2021, Algorithm 1) as TFF computations.

The server trains the global model w as FedAvg does; every client also keeps a personal
model v_k across rounds. A sampled client takes the same local SGD steps twice over its
batches: on v_k with the proximal term, v_k <- v_k - lr (grad F_k(v_k) + lambda (v_k - w)),
and from w, as FedAvg's client, whose model change the server averages by examples and
applies with server_lr. A client's personal model starts as the global model of the
first round it takes part in. lambda = 0 is local training alone; a large lambda pins
v_k to w.

A client's stored state is its personal model's trainable arrays followed by a
one-element flag (0 until it first trains), so it starts as zeros as every client-state
store expects.
"""

from __future__ import annotations

from typing import Callable, List, Optional, Sequence

import numpy as np
import tensorflow as tf

from tff_course.algorithms.client_state_process import ClientStateProcess, round_metrics
from tff_course.algorithms.client_work import load_weights, model_types
from tff_course.errors import ConfigError


class DittoProcess(ClientStateProcess):
  """A ClientStateProcess whose client states are personal models."""

  def personal_weights(self, client_state: Sequence[np.ndarray],
                       global_trainable: Sequence[np.ndarray]) -> List[np.ndarray]:
    """The client's personal trainable weights: its own once it has trained, else the
    global model's (what it would start from)."""
    started = float(np.asarray(client_state[-1]).reshape(-1)[0]) > 0
    return [np.asarray(v) for v in (client_state[:-1] if started else global_trainable)]


def check_lambda(value: float) -> float:
  if isinstance(value, bool) or not value >= 0:
    raise ConfigError(f"ditto lambda: got {value!r}, expected a number >= 0 (0: each client "
                      f"trains alone; larger: personal models closer to the global one)")
  return float(value)


def build_ditto(model_fn: Callable, *, client_lr: float, ditto_lambda: float,
                server_lr: float = 1.0,
                client_batches: Optional[Callable] = None) -> DittoProcess:
  """Ditto's rounds for `model_fn`'s model.

  Args:
    model_fn: returns a fresh `tff.learning.models.VariableModel` (see keras_model_fn).
    client_lr: the local SGD step size of both models, > 0.
    ditto_lambda: lambda >= 0, the pull of personal models towards the global one.
    server_lr: the global step size (1: the example-weighted mean of the clients' models).
    client_batches: clients hold one int64 input row and this gives its batches
      (tff_course.algorithms.client_work); by default clients hold datasets.
  """
  from tff_course.aggregators.bits import tensor_types
  from tff_course.algorithms.packed import stack_rows
  from tff_course.runtime.tff_module import tff

  ditto_lambda = check_lambda(ditto_lambda)
  if not client_lr > 0:
    raise ConfigError(f"client_lr: got {client_lr}, expected a number > 0")
  weights_type, data_type, metrics_aggregation = model_types(model_fn)
  if client_batches is not None:
    data_type = tff.SequenceType(tff.TensorType(np.int64, [None]))
  trainable_types = tensor_types(weights_type.trainable)
  shapes = [tuple(t.shape) for t in trainable_types] + [(1,)]
  personal_type = tff.StructType([tff.TensorType(np.float32, shape) for shape in shapes])
  parameters = int(sum(np.prod(shape, dtype=np.int64) for shape in shapes[:-1]))
  bits_up = 32 * parameters + 32
  local = _local_steps(client_lr, ditto_lambda)

  @tff.tensorflow.computation
  def initial_state():
    return {"model": tff.learning.models.ModelWeights.from_model(model_fn())}

  @tff.federated_computation
  def init_fn():
    return tff.federated_eval(initial_state, tff.SERVER)

  state_type = init_fn.type_signature.result

  @tff.tensorflow.computation(weights_type, personal_type, data_type)
  def client_update(weights, personal, data):
    model = model_fn()

    def run(weights, personal, data):
      batches = client_batches(stack_rows(data)[0]) if client_batches else data
      delta, examples, new_personal = local(model, weights, tuple(personal), batches)
      return (delta, examples, new_personal, tf.constant(bits_up, tf.int64),
              model.report_local_unfinalized_metrics())
    return tf.function(run)(weights, personal, data)

  @tff.tensorflow.computation(state_type.member, weights_type.trainable)
  def server_update(state, mean_delta):
    model = state["model"]
    trainable = tf.nest.map_structure(lambda w, d: w + server_lr * d, model.trainable,
                                      mean_delta)
    return {"model": tff.learning.models.ModelWeights(trainable, model.non_trainable)}

  @tff.federated_computation(state_type, tff.FederatedType(data_type, tff.CLIENTS),
                             tff.FederatedType(personal_type, tff.CLIENTS))
  def next_fn(state, data, personal):
    outputs = tff.federated_map(client_update, (
        tff.federated_broadcast(state["model"]), personal, data))
    delta, examples, new_personal, bits, local_metrics = (outputs[i] for i in range(5))
    new_state = tff.federated_map(server_update, (state, tff.federated_mean(delta, examples)))
    metrics = round_metrics(metrics_aggregation(local_metrics), bits)
    return new_state, metrics, new_personal

  return DittoProcess(init_fn, next_fn, shapes, ("model",), "Ditto")


def _local_steps(client_lr: float, ditto_lambda: float) -> Callable:
  """The client's part in TensorFlow: (model, w, personal state, batches) ->
  (w_local - w, examples, new personal state)."""

  def sgd_pass(model, variables, batches, anchor):
    def train_on(examples, batch):
      with tf.GradientTape() as tape:
        output = model.forward_pass(batch, training=True)
      grads = tape.gradient(output.loss, variables,
                            unconnected_gradients=tf.UnconnectedGradients.ZERO)
      for variable, gradient, center in zip(variables, grads, anchor):
        pull = ditto_lambda * (variable - center) if center is not None else 0.0
        variable.assign_sub(client_lr * (gradient + pull))
      return examples + tf.cast(output.num_examples, tf.float32)

    return batches.reduce(tf.constant(0.0), train_on)

  def local(model, initial_weights, personal, batches):
    weights = load_weights(model, initial_weights)
    variables = tuple(tf.nest.flatten(weights.trainable))
    start = tuple(tf.identity(v) for v in tf.nest.flatten(initial_weights.trainable))
    started = personal[-1][0] > 0
    for variable, own, center in zip(variables, personal[:-1], start):
      variable.assign(tf.where(started, own, center))
    sgd_pass(model, variables, batches, start)
    new_personal = tuple(tf.identity(v) for v in variables) + (tf.ones([1], tf.float32),)
    model.reset_metrics()
    for variable, center in zip(variables, start):
      variable.assign(center)
    examples = sgd_pass(model, variables, batches, (None,) * len(variables))
    delta = tf.nest.pack_sequence_as(initial_weights.trainable,
                                     [v - s for v, s in zip(variables, start)])
    return delta, examples, new_personal

  return local
