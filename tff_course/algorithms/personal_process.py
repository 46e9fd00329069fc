"""The frame of personalized FedAvg variants (Ditto, FedPer, FedBN) as TFF computations:
the server keeps a model and applies the example-weighted mean of the sampled clients'
model changes with server_lr; every client keeps personal state across rounds (personal
model, head or normalisation layers), which its local training reads and rewrites.

A client's state is a list of float32 arrays ending in a one-element flag that is 0 until
the client first trains, so a client starts from zeros as every client-state store
expects; each algorithm says how its state and the global model make the client's own
model (`personalize`).
"""

from __future__ import annotations

from typing import Callable, List, Optional, Sequence, Tuple

import numpy as np
import tensorflow as tf

from tff_course.algorithms.client_state_process import ClientStateProcess, round_metrics
from tff_course.algorithms.client_work import model_types

Personalize = Callable[[Sequence[np.ndarray], List[np.ndarray], List[np.ndarray]],
                       Tuple[List[np.ndarray], List[np.ndarray]]]


def has_started(client_state: Sequence[np.ndarray]) -> bool:
  """Whether the client has trained (its state's last entry, the flag, is set)."""
  return float(np.asarray(client_state[-1]).reshape(-1)[0]) > 0


class PersonalProcess(ClientStateProcess):
  """A ClientStateProcess whose client states make personal models."""

  def __init__(self, init_fn, next_fn, client_state_shapes, name: str,
               personalize: Personalize):
    super().__init__(init_fn, next_fn, client_state_shapes, ("model",), name)
    self._personalize = personalize

  def personal_weights(self, client_state: Sequence[np.ndarray], trainable: Sequence,
                       non_trainable: Sequence) -> Tuple[List[np.ndarray], List[np.ndarray]]:
    """(trainable, non-trainable) arrays of the client's own model, given the global
    model's: the global model itself before the client has trained."""
    trainable = [np.asarray(v) for v in trainable]
    non_trainable = [np.asarray(v) for v in non_trainable]
    if not has_started(client_state):
      return trainable, non_trainable
    return self._personalize(client_state, trainable, non_trainable)


def build_personal_process(model_fn: Callable, local: Callable,
                           personal_shapes: Sequence[Tuple[int, ...]], *, bits_up: int,
                           server_lr: float, client_batches: Optional[Callable], name: str,
                           personalize: Personalize) -> PersonalProcess:
  """The process around `local(model, global ModelWeights, personal tuple, batches)` ->
  (model change structured as the trainable weights, examples as float32, new personal
  tuple with the flag set), which runs in TensorFlow at each client.

  Args:
    personal_shapes: the shapes of a client's personal arrays, without the flag.
    bits_up: what one client sends a round.
  """
  from tff_course.algorithms.packed import stack_rows
  from tff_course.runtime.tff_module import tff

  weights_type, data_type, metrics_aggregation = model_types(model_fn)
  if client_batches is not None:
    data_type = tff.SequenceType(tff.TensorType(np.int64, [None]))
  shapes = [tuple(shape) for shape in personal_shapes] + [(1,)]
  personal_type = tff.StructType([tff.TensorType(np.float32, shape) for shape in shapes])

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
    return new_state, round_metrics(metrics_aggregation(local_metrics), bits), new_personal

  return PersonalProcess(init_fn, next_fn, shapes, name, personalize)


def sgd_pass(model, variables, batches, client_lr: float, pull=None):
  """In TensorFlow: plain SGD on `variables` over `batches`, each step's gradient plus
  `pull(variables)` (a tuple of tensors) when given; returns the examples seen (float32)."""
  def train_on(examples, batch):
    with tf.GradientTape() as tape:
      output = model.forward_pass(batch, training=True)
    grads = tape.gradient(output.loss, variables,
                          unconnected_gradients=tf.UnconnectedGradients.ZERO)
    extra = pull(variables) if pull is not None else (0.0,) * len(variables)
    for variable, gradient, more in zip(variables, grads, extra):
      variable.assign_sub(client_lr * (gradient + more))
    return examples + tf.cast(output.num_examples, tf.float32)

  return batches.reduce(tf.constant(0.0), train_on)


def set_flag() -> tuple:
  """In TensorFlow: the personal tuple's last entry once the client has trained."""
  return (tf.ones([1], tf.float32),)
