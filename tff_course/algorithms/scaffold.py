"""SCAFFOLD (Karimireddy et al., "SCAFFOLD: Stochastic Controlled Averaging for Federated
Learning", ICML 2020, Algorithm 1) as TFF computations.

The server keeps the model x and a control variate c; every client keeps its own control
c_i across rounds. TFF keeps no state on clients, so the caller passes the sampled
clients' controls into a round and stores the new ones the round returns
(tff_course.experiment.client_states does that for the runner). A sampled client starts
from x and takes K local SGD steps y <- y - lr (g(y) - c_i + c), then sets its new
control by option I, c_i+ = the gradient at x over the batches it trained on, or option
II, c_i+ = c_i - c + (x - y) / (K lr), and sends Delta y = y - x and
Delta c = c_i+ - c_i. The server takes x <- x + server_lr mean(Delta y) and
c <- c + sum(Delta c) / N, N the number of clients (the paper's (|S| / N) mean).
"""

from __future__ import annotations

from typing import Callable, Optional

import numpy as np
import tensorflow as tf

from tff_course.algorithms.client_state_process import ClientStateProcess, round_metrics
from tff_course.algorithms.client_work import load_weights, model_types
from tff_course.algorithms.scaffold_options import OPTIONS
from tff_course.errors import ConfigError


def check_option(option: str) -> str:
  if option not in OPTIONS:
    raise ConfigError(f"scaffold option: got {option!r}, expected one of "
                      f"{', '.join(OPTIONS)} (the paper's control updates)")
  return option


def build_scaffold(model_fn: Callable, *, client_lr: float, num_clients: int,
                   server_lr: float = 1.0, option: str = "II",
                   client_batches: Optional[Callable] = None) -> ClientStateProcess:
  """SCAFFOLD's rounds for `model_fn`'s model.

  Args:
    model_fn: returns a fresh `tff.learning.models.VariableModel` (see keras_model_fn).
    client_lr: the local SGD step size, > 0.
    num_clients: N, every client that can take part (scales the control's update).
    server_lr: the global step size (1: the mean of the clients' models).
    option: "I" or "II", the paper's two control updates.
    client_batches: clients hold one int64 input row and this gives its batches
      (tff_course.algorithms.client_work); by default clients hold datasets.
  """
  from tff_course.aggregators.bits import tensor_types
  from tff_course.algorithms.packed import stack_rows
  from tff_course.runtime.tff_module import tff

  check_option(option)
  if not client_lr > 0:
    raise ConfigError(f"client_lr: got {client_lr}, expected a number > 0")
  if num_clients < 1:
    raise ConfigError(f"num_clients: got {num_clients}, expected a whole number >= 1")
  weights_type, data_type, metrics_aggregation = model_types(model_fn)
  if client_batches is not None:
    data_type = tff.SequenceType(tff.TensorType(np.int64, [None]))
  control_type = weights_type.trainable
  control_shapes = [tuple(t.shape) for t in tensor_types(control_type)]
  bits_up = 2 * 32 * int(sum(np.prod(shape, dtype=np.int64) for shape in control_shapes))
  local = _local_steps(client_lr, option)

  @tff.tensorflow.computation
  def initial_state():
    weights = tff.learning.models.ModelWeights.from_model(model_fn())
    return {"model": weights,
            "control": tf.nest.map_structure(tf.zeros_like, weights.trainable)}

  @tff.federated_computation
  def init_fn():
    return tff.federated_eval(initial_state, tff.SERVER)

  state_type = init_fn.type_signature.result

  @tff.tensorflow.computation(weights_type, control_type, control_type, data_type)
  def client_update(weights, server_control, own_control, data):
    model = model_fn()

    def run(weights, server_control, own_control, data):
      batches = client_batches(stack_rows(data)[0]) if client_batches else data
      delta, new_control, control_delta = local(model, weights, server_control,
                                                own_control, batches)
      return (delta, control_delta, new_control, tf.constant(bits_up, tf.int64),
              model.report_local_unfinalized_metrics())
    return tf.function(run)(weights, server_control, own_control, data)

  @tff.tensorflow.computation(state_type.member, control_type, control_type)
  def server_update(state, mean_delta, control_sum):
    model = state["model"]
    trainable = tf.nest.map_structure(lambda x, d: x + server_lr * d, model.trainable,
                                      mean_delta)
    control = tf.nest.map_structure(lambda c, s: c + s / num_clients, state["control"],
                                    control_sum)
    return {"model": tff.learning.models.ModelWeights(trainable, model.non_trainable),
            "control": control}

  @tff.federated_computation(state_type, tff.FederatedType(data_type, tff.CLIENTS),
                             tff.FederatedType(control_type, tff.CLIENTS))
  def next_fn(state, data, controls):
    outputs = tff.federated_map(client_update, (
        tff.federated_broadcast(state["model"]), tff.federated_broadcast(state["control"]),
        controls, data))
    delta, control_delta, new_controls, bits, local_metrics = (outputs[i] for i in range(5))
    new_state = tff.federated_map(server_update, (
        state, tff.federated_mean(delta), tff.federated_sum(control_delta)))
    metrics = round_metrics(metrics_aggregation(local_metrics), bits)
    return new_state, metrics, new_controls

  return ClientStateProcess(init_fn, next_fn, control_shapes, ("model", "control"),
                            "SCAFFOLD")


def _local_steps(client_lr: float, option: str) -> Callable:
  """The client's part in TensorFlow: (model, x, c, c_i, batches) -> (Delta y, c_i+,
  Delta c), each structured like the model's trainable weights."""

  def gradients(model, variables, batch):
    with tf.GradientTape() as tape:
      output = model.forward_pass(batch, training=True)
    return output, tape.gradient(output.loss, variables,
                                 unconnected_gradients=tf.UnconnectedGradients.ZERO)

  def gradient_at_start(model, variables, batches):
    def accumulate(state, batch):
      total, examples = state
      output, grads = gradients(model, variables, batch)
      count = tf.cast(output.num_examples, tf.float32)
      return tuple(t + count * g for t, g in zip(total, grads)), examples + count

    zeros = tuple(tf.zeros_like(v) for v in variables)
    total, examples = batches.reduce((zeros, tf.constant(0.0)), accumulate)
    model.reset_metrics()
    return tuple(t / tf.maximum(examples, 1.0) for t in total)

  def local(model, initial_weights, server_control, own_control, batches):
    weights = load_weights(model, initial_weights)
    variables = tuple(tf.nest.flatten(weights.trainable))
    start = tuple(tf.nest.flatten(initial_weights.trainable))
    own = tuple(tf.nest.flatten(own_control))
    correction = tuple(s - o for s, o in zip(tf.nest.flatten(server_control), own))
    if option == "I":
      new_control = gradient_at_start(model, variables, batches)

    def train_on(steps, batch):
      _, grads = gradients(model, variables, batch)
      for variable, gradient, fix in zip(variables, grads, correction):
        variable.assign_sub(client_lr * (gradient + fix))
      return steps + 1.0

    steps = batches.reduce(tf.constant(0.0), train_on)
    delta = tuple(v - x for v, x in zip(variables, start))
    if option == "II":
      scale = 1.0 / (tf.maximum(steps, 1.0) * client_lr)
      new_control = tuple(o - s - scale * d for o, s, d in
                          zip(own, tf.nest.flatten(server_control), delta))
    control_delta = tuple(n - o for n, o in zip(new_control, own))
    structure = initial_weights.trainable
    return tuple(tf.nest.pack_sequence_as(structure, list(values))
                 for values in (delta, new_control, control_delta))

  return local
