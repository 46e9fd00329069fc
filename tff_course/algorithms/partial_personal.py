"""FedPer (Arivazhagan et al., "Federated Learning with Personalization Layers", 2019) and
FedBN (Li et al., "FedBN: Federated Learning on Non-IID Features via Local Batch
Normalization", ICLR 2021): some of the model's variables stay with each client.

A sampled client starts from the global model with its own personal variables in place
(the global ones until it first trains), takes local SGD steps on every trainable
variable, keeps the personal variables' new values and sends the change of the shared
trainable ones only: its update is zero at the personal entries, so the server's copies
of those stay as initialized. FedPer's personal variables are the head's (the last
`head_layers` layers with weights); FedBN's are the batch-normalization layers' scale,
offset and moving statistics.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, List, Optional, Sequence, Tuple

import numpy as np
import tensorflow as tf

from tff_course.algorithms.client_work import load_weights, model_types
from tff_course.algorithms.personal_process import (PersonalProcess, build_personal_process,
                                                    set_flag, sgd_pass)
from tff_course.errors import ConfigError


@dataclasses.dataclass(frozen=True)
class PersonalParts:
  """Which variables stay with each client: indices into the model's trainable and
  non-trainable weights (in Keras' order, which TFF's ModelWeights keep)."""

  trainable: Tuple[int, ...]
  non_trainable: Tuple[int, ...] = ()


def _indices(weights: Sequence, chosen_ids: set) -> Tuple[int, ...]:
  return tuple(i for i, w in enumerate(weights) if id(w) in chosen_ids)


def head_parts(keras_model, head_layers: int = 1) -> PersonalParts:
  """FedPer's personal part: the trainable weights of the last `head_layers` layers that
  have any."""
  layers = [layer for layer in keras_model.layers if layer.trainable_weights]
  if isinstance(head_layers, bool) or not 1 <= head_layers < len(layers):
    raise ConfigError(f"fedper head layers: got {head_layers!r}, expected 1 to "
                      f"{len(layers) - 1} ({keras_model.name} has {len(layers)} layers with "
                      f"weights, and the body needs one)")
  chosen = {id(w) for layer in layers[-head_layers:] for w in layer.trainable_weights}
  return PersonalParts(_indices(keras_model.trainable_weights, chosen))


def normalization_parts(keras_model) -> PersonalParts:
  """FedBN's personal part: every batch-normalization layer's weights."""
  layers = [m for m in keras_model.submodules
            if isinstance(m, tf.keras.layers.BatchNormalization)]
  if not layers:
    raise ConfigError(f"fedbn: model {keras_model.name!r} has no batch-normalization layers; "
                      f"expected a model with them, e.g. resnet20_cifar")
  chosen = {id(w) for layer in layers for w in layer.weights}
  return PersonalParts(_indices(keras_model.trainable_weights, chosen),
                       _indices(keras_model.non_trainable_weights, chosen))


def build_partial_personal(model_fn: Callable, parts: PersonalParts, *, client_lr: float,
                           server_lr: float = 1.0, client_batches: Optional[Callable] = None,
                           name: str = "FedPer") -> PersonalProcess:
  """The rounds of FedPer or FedBN (by `parts`) for `model_fn`'s model; with no personal
  parts, FedAvg with plain SGD.

  Args:
    model_fn: returns a fresh `tff.learning.models.VariableModel` (see keras_model_fn).
    parts: the personal variables.
    client_lr: the local SGD step size, > 0.
    server_lr: the global step size (1: the example-weighted mean of the clients' models).
    client_batches: clients hold one int64 input row and this gives its batches.
  """
  from tff_course.aggregators.bits import tensor_types

  if not client_lr > 0:
    raise ConfigError(f"client_lr: got {client_lr}, expected a number > 0")
  weights_type, _, _ = model_types(model_fn)
  trainable = [tuple(t.shape) for t in tensor_types(weights_type.trainable)]
  non_trainable = [tuple(t.shape) for t in tensor_types(weights_type.non_trainable)]
  shapes = ([trainable[i] for i in parts.trainable] +
            [non_trainable[i] for i in parts.non_trainable])
  shared = sum(int(np.prod(s, dtype=np.int64)) for i, s in enumerate(trainable)
               if i not in parts.trainable)

  def personalize(client_state, global_trainable: List[np.ndarray],
                  global_non_trainable: List[np.ndarray]):
    own = iter(np.asarray(v) for v in client_state[:-1])
    new_trainable = list(global_trainable)
    new_non_trainable = list(global_non_trainable)
    for i in parts.trainable:
      new_trainable[i] = next(own)
    for i in parts.non_trainable:
      new_non_trainable[i] = next(own)
    return new_trainable, new_non_trainable

  return build_personal_process(model_fn, _local_steps(client_lr, parts), shapes,
                                bits_up=32 * shared + 32, server_lr=server_lr,
                                client_batches=client_batches, name=name,
                                personalize=personalize)


def _local_steps(client_lr: float, parts: PersonalParts) -> Callable:
  """The client's part in TensorFlow: (model, w, personal state, batches) ->
  (change of the shared variables, zero at personal ones; examples; new personal state)."""

  def local(model, initial_weights, personal, batches):
    weights = load_weights(model, initial_weights)
    variables = tuple(tf.nest.flatten(weights.trainable))
    fixed = tuple(tf.nest.flatten(weights.non_trainable))
    own = ([variables[i] for i in parts.trainable] +
           [fixed[i] for i in parts.non_trainable])
    started = personal[-1][0] > 0
    for variable, value in zip(own, personal[:-1]):
      variable.assign(tf.where(started, value, variable))
    start = tuple(tf.identity(v) for v in variables)
    examples = sgd_pass(model, variables, batches, client_lr)
    delta = [tf.zeros_like(v) if i in parts.trainable else v - s
             for i, (v, s) in enumerate(zip(variables, start))]
    new_personal = tuple(tf.identity(v) for v in own) + set_flag()
    return (tf.nest.pack_sequence_as(initial_weights.trainable, delta), examples,
            new_personal)

  return local
