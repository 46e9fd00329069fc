"""Client work processes: the federated skeleton shared by the toolkit's own client work.

A client work process maps (server state, model weights at clients, client data) to
client results and aggregated training metrics; only the per-client TensorFlow step
differs between algorithms. `model_types` reads the types once per model function,
`build_client_work` wraps a step into a `tff.learning.templates.ClientWorkProcess`.
"""

from __future__ import annotations

import weakref
from typing import Callable, Optional, Sequence

import numpy as np
import tensorflow as tf


_TYPES_OF = weakref.WeakKeyDictionary()


def model_types(model_fn: Callable):
  """(model weights type, client data type, metrics aggregation) of `model_fn`'s model,
  built once per `model_fn` (a ResNet-20 takes a second or more to build in a graph)."""
  try:
    return _TYPES_OF[model_fn]
  except (KeyError, TypeError):
    pass
  types = _read_model_types(model_fn)
  try:
    _TYPES_OF[model_fn] = types
  except TypeError:
    pass
  return types


def _read_model_types(model_fn: Callable):
  from tff_course.runtime.tff_module import tff

  with tf.Graph().as_default():
    model = model_fn()
    metrics_aggregation = tff.learning.metrics.sum_then_finalize(model.metric_finalizers())
    weights_type = tff.learning.models.weights_type_from_model(model)
  data_type = tff.SequenceType(tff.types.tensorflow_to_type(model.input_spec))
  return weights_type, data_type, metrics_aggregation


def build_client_work(model_fn: Callable, client_step: Callable,
                      learning_rate_fn: Optional[Callable] = None,
                      num_groups: Optional[int] = None,
                      client_batches: Optional[Callable] = None, packed: bool = False,
                      broadcast: Optional[Sequence[np.ndarray]] = None,
                      row_weights: bool = False):
  """A ClientWorkProcess running `client_step(model, initial_weights, batches, rate)`.

  `client_step` runs inside a tf.function on a fresh model and returns
  (ClientResult, the model's local unfinalized metrics); a client whose update or
  weight is not finite reports zero metrics (the aggregator drops its update);
  `batches` is the client's dataset, or whatever has its `reduce` method. With
  `learning_rate_fn` (round index -> rate, in TensorFlow), the process keeps the round
  index as its state and broadcasts that round's rate to the clients as `rate`; without
  it, `rate` is None.

  Client data: by default each client's dataset. With `client_batches` (an int64 input
  row -> the client's `TensorBatches`), each client holds a sequence of input rows
  instead: one row, or with `packed` several clients' rows, trained one after another
  in the same call (see tff_course.algorithms.packed); the measurements then also hold
  `clients_dropped`, the clients whose non-finite update the calls left out (int64).
  With `num_groups`, each client's data also carries its int32 group (a one-element
  dataset after the client's dataset, or the input row's third entry) and its update
  weight becomes weight x one_hot(group), a float32 vector a group-aware aggregator
  can use.

  With `row_weights`, each client's update weight is the one its input row ends with
  (tff_course.algorithms.row_weight: unbiased weights of non-uniform client selection)
  instead of the one `client_step` gives.

  With `broadcast` (arrays, such as the masks of sparse fine-tuning), the process state
  also holds them; the server broadcasts them every round and `client_step` receives
  them as a fifth argument, a tuple of tensors.
  """
  from tff_course.algorithms.dropped import kept_metrics
  from tff_course.algorithms.packed import packed_step, stack_rows
  from tff_course.runtime.tff_module import tff

  from tff_course.algorithms.row_weight import row_weight

  if packed and (client_batches is None or num_groups or broadcast is not None or
                 row_weights):
    raise ValueError("packed: needs client_batches, and cannot weigh groups, take row "
                     "weights or take a broadcast (a slot sends one weight for all its "
                     "clients)")
  if row_weights and (client_batches is None or num_groups):
    raise ValueError("row_weights: needs client_batches (input rows), without groups")
  weights_type, data_type, metrics_aggregation = model_types(model_fn)
  if client_batches is not None:
    data_type = tff.SequenceType(tff.TensorType(np.int64, [None]))
  elif num_groups:
    data_type = tff.StructType([data_type, tff.SequenceType(tff.TensorType(np.int32))])
  scheduled = learning_rate_fn is not None

  def step(model, initial_weights, batches, rate, constants):
    if constants is None:
      return client_step(model, initial_weights, batches, rate)
    return client_step(model, initial_weights, batches, rate, constants)

  def train(model, initial_weights, data, rate, constants=None):
    if packed:
      return packed_step(client_step, client_batches)(model, initial_weights,
                                                      stack_rows(data), rate)
    if client_batches is not None:
      rows = stack_rows(data)
      tf.debugging.assert_equal(tf.shape(rows)[0], 1,
                                message="client data: one input row per client unless packed")
      row = rows[0]
      result, outputs = step(model, initial_weights, client_batches(row), rate, constants)
      group = tf.cast(row[2], tf.int32) if num_groups else None
      if row_weights:
        result = tff.learning.templates.ClientResult(update=result.update,
                                                     update_weight=row_weight(row))
    else:
      result, outputs = step(model, initial_weights, data[0] if num_groups else data, rate,
                             constants)
      group = data[1].reduce(np.int32(0), lambda _, g: g) if num_groups else None
    outputs = kept_metrics(outputs, result.update, result.update_weight)
    if num_groups:
      result = tff.learning.templates.ClientResult(
          update=result.update,
          update_weight=result.update_weight * tf.one_hot(group, num_groups))
    return result, outputs

  round_zero = np.int32(0) if scheduled else ()
  constants = None if broadcast is None else tuple(np.asarray(a) for a in broadcast)

  @tff.federated_computation
  def init_fn():
    initial = round_zero if constants is None else (round_zero, constants)
    return tff.federated_value(initial, tff.SERVER)

  state_type = init_fn.type_signature.result.member
  round_type = state_type if constants is None else state_type[0]
  rate_type = tff.TensorType(np.float32) if scheduled else round_type

  if constants is None:
    @tff.tensorflow.computation(weights_type, data_type, rate_type)
    def client_update(initial_weights, data, rate):
      model = model_fn()
      return tf.function(lambda weights, data, r: train(model, weights, data, r))(
          initial_weights, data, rate if scheduled else None)
  else:
    @tff.tensorflow.computation(weights_type, data_type, rate_type, state_type[1])
    def client_update(initial_weights, data, rate, values):
      model = model_fn()
      return tf.function(lambda weights, data, r, c: train(model, weights, data, r, tuple(c)))(
          initial_weights, data, rate if scheduled else None, values)

  @tff.tensorflow.computation(round_type)
  def rate_of(round_index):
    return tf.cast(learning_rate_fn(round_index), tf.float32) if scheduled else ()

  @tff.tensorflow.computation(round_type)
  def advance(round_index):
    return round_index + 1 if scheduled else ()

  @tff.federated_computation(init_fn.type_signature.result,
                             tff.FederatedType(weights_type, tff.CLIENTS),
                             tff.FederatedType(data_type, tff.CLIENTS))
  def next_fn(state, weights, data):
    round_state = state if constants is None else state[0]
    rate = tff.federated_broadcast(tff.federated_map(rate_of, round_state))
    if constants is None:
      outputs = tff.federated_map(client_update, (weights, data, rate))
    else:
      outputs = tff.federated_map(client_update,
                                  (weights, data, rate, tff.federated_broadcast(state[1])))
    result, measurements = outputs[0], {"train": metrics_aggregation(outputs[1])}
    if packed:
      measurements["clients_dropped"] = tff.federated_sum(outputs[2])
    measurements = tff.federated_zip(measurements)
    new_round = tff.federated_map(advance, round_state)
    new_state = new_round if constants is None else tff.federated_zip((new_round, state[1]))
    return tff.templates.MeasuredProcessOutput(new_state, result, measurements)

  return tff.learning.templates.ClientWorkProcess(init_fn, next_fn)


def load_weights(model, initial_weights):
  """Assigns `initial_weights` to the model's variables; returns its ModelWeights."""
  from tff_course.runtime.tff_module import tff

  weights = tff.learning.models.ModelWeights.from_model(model)
  tf.nest.map_structure(lambda variable, value: variable.assign(value), weights,
                        initial_weights)
  return weights
