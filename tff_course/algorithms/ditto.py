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

from typing import Callable, List, Optional, Sequence, Tuple

import numpy as np
import tensorflow as tf

from tff_course.algorithms.client_work import load_weights, model_types
from tff_course.algorithms.personal_process import (PersonalProcess, build_personal_process,
                                                    set_flag, sgd_pass)
from tff_course.errors import ConfigError


def check_lambda(value: float) -> float:
  if isinstance(value, bool) or not value >= 0:
    raise ConfigError(f"ditto lambda: got {value!r}, expected a number >= 0 (0: each client "
                      f"trains alone; larger: personal models closer to the global one)")
  return float(value)


def _personalize(client_state: Sequence[np.ndarray], trainable: List[np.ndarray],
                 non_trainable: List[np.ndarray]) -> Tuple[List[np.ndarray], List[np.ndarray]]:
  return [np.asarray(v) for v in client_state[:-1]], non_trainable


def build_ditto(model_fn: Callable, *, client_lr: float, ditto_lambda: float,
                server_lr: float = 1.0,
                client_batches: Optional[Callable] = None) -> PersonalProcess:
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

  ditto_lambda = check_lambda(ditto_lambda)
  if not client_lr > 0:
    raise ConfigError(f"client_lr: got {client_lr}, expected a number > 0")
  weights_type, _, _ = model_types(model_fn)
  shapes = [tuple(t.shape) for t in tensor_types(weights_type.trainable)]
  parameters = int(sum(np.prod(shape, dtype=np.int64) for shape in shapes))
  return build_personal_process(model_fn, _local_steps(client_lr, ditto_lambda), shapes,
                                bits_up=32 * parameters + 32, server_lr=server_lr,
                                client_batches=client_batches, name="Ditto",
                                personalize=_personalize)


def _local_steps(client_lr: float, ditto_lambda: float) -> Callable:
  """The client's part in TensorFlow: (model, w, personal state, batches) ->
  (w_local - w, examples, new personal state)."""

  def local(model, initial_weights, personal, batches):
    weights = load_weights(model, initial_weights)
    variables = tuple(tf.nest.flatten(weights.trainable))
    start = tuple(tf.identity(v) for v in tf.nest.flatten(initial_weights.trainable))
    started = personal[-1][0] > 0
    for variable, own, center in zip(variables, personal[:-1], start):
      variable.assign(tf.where(started, own, center))
    sgd_pass(model, variables, batches, client_lr,
             lambda current: tuple(ditto_lambda * (v - c) for v, c in zip(current, start)))
    new_personal = tuple(tf.identity(v) for v in variables) + set_flag()
    model.reset_metrics()
    for variable, center in zip(variables, start):
      variable.assign(center)
    examples = sgd_pass(model, variables, batches, client_lr)
    delta = tf.nest.pack_sequence_as(initial_weights.trainable,
                                     [v - s for v, s in zip(variables, start)])
    return delta, examples, new_personal

  return local
