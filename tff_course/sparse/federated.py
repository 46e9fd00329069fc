"""Sparse FedAvg: clients fine-tune with SparseSGDM under masks the server broadcasts.

Each round the server broadcasts the model and the masks; a client takes its local steps
with `sparse_sgdm_step` (momentum buffer from zero each round, the model in inference
mode as in centralized fine-tuning), so its update is exactly zero where its mask is 0;
it sends only the entries the masks open (`SparseMeanFactory`), and the server applies
the weighted mean with its optimizer, as FedAvg does.
"""

from __future__ import annotations

import contextlib
import warnings
from typing import Callable, Iterator, Mapping, Optional

import numpy as np

from tff_course.sparse.sgdm_step import SGDMSettings


def masks_in_order(model, masks: Mapping[str, np.ndarray]) -> list:
  """`masks` as a list in the order of `model`'s trainable variables (matched and checked by
  `mask_set.matched_masks`)."""
  from tff_course.sparse.mask_set import matched_masks, model_shapes, variable_key

  masks = matched_masks(masks, model_shapes(model))
  return [np.asarray(masks[variable_key(v)], np.float32) for v in model.trainable_variables]


def sparse_client_step(learning_rate: float, settings: SGDMSettings, *, weighted: bool = True,
                       training: bool = False) -> Callable:
  """The client step of `build_client_work` with a broadcast of masks: SparseSGDM steps
  over the client's batches; the update is initial minus local weights."""
  import tensorflow as tf

  from tff_course.algorithms.client_work import load_weights
  from tff_course.runtime.tff_module import tff
  from tff_course.sparse.sgdm_step import sparse_sgdm_step

  def client_step(model, initial_weights, batches, rate, masks):
    weights = load_weights(model, initial_weights)
    variables = tuple(tf.nest.flatten(weights.trainable))
    step_size = learning_rate if rate is None else rate

    def train_on(state, batch):
      examples, steps, buffers = state
      with tf.GradientTape() as tape:
        output = model.forward_pass(batch, training=training)
      gradients = tape.gradient(output.loss, variables,
                                unconnected_gradients=tf.UnconnectedGradients.ZERO)
      new_buffers = []
      for variable, gradient, buffer, mask in zip(variables, gradients, buffers, masks):
        value, buffer = sparse_sgdm_step(variable, gradient, buffer, mask, step_size,
                                         tf.equal(steps, 0), settings)
        variable.assign(value)
        new_buffers.append(buffer)
      return (examples + tf.cast(output.num_examples, tf.int64), steps + 1,
              tuple(new_buffers))

    start = (tf.constant(0, tf.int64), tf.constant(0, tf.int64),
             tuple(tf.zeros_like(v) for v in variables))
    examples, _, _ = batches.reduce(start, train_on)
    update = tf.nest.map_structure(tf.subtract, initial_weights.trainable, weights.trainable)
    weight = tf.cast(examples, tf.float32) if weighted else tf.constant(1.0)
    return (tff.learning.templates.ClientResult(update=update, update_weight=weight),
            model.report_local_unfinalized_metrics())

  return client_step


def build_sparse_fedavg(model_fn: Callable, masks: list, *, client_learning_rate: float,
                        server_optimizer, sgdm: SGDMSettings = SGDMSettings(),
                        weighted: bool = True, sparse_upload: bool = True,
                        client_learning_rate_fn: Optional[Callable] = None,
                        client_batches: Optional[Callable] = None, training: bool = False):
  """A FedAvg learning process whose clients train with SparseSGDM under `masks`.

  Args:
    model_fn: returns a fresh `tff.learning.models.VariableModel`.
    masks: one 0/1 array per trainable variable, in order (`masks_in_order`).
    client_learning_rate: the clients' SGDM step size.
    server_optimizer: a `tff.learning.optimizers.Optimizer` applying the mean update.
    sgdm: momentum, dampening, Nesterov, weight decay of the clients' SGDM.
    weighted: weigh clients by their examples (else equally).
    sparse_upload: clients send only the entries the masks open (else whole tensors).
    client_learning_rate_fn: round index -> client rate (TensorFlow), overriding the rate.
    client_batches: clients hold input rows, read into batches (see build_client_work).
    training: run the model in training mode (batch-norm statistics from the batch).
  """
  from tff_course.aggregators.quantized import MeanWithBitsFactory
  from tff_course.aggregators.sparse import SparseMeanFactory
  from tff_course.algorithms.client_work import build_client_work
  from tff_course.algorithms.compose import apply_optimizer, compose
  from tff_course.algorithms.optimizers import check_tff_optimizer

  server_optimizer = check_tff_optimizer("server_optimizer", server_optimizer)
  step = sparse_client_step(client_learning_rate, sgdm, weighted=weighted, training=training)
  with frozen_statistics_intended():
    client_work = build_client_work(model_fn, step, client_learning_rate_fn,
                                    client_batches=client_batches,
                                    broadcast=[np.asarray(m, np.float32) for m in masks])
    aggregator = SparseMeanFactory(masks) if sparse_upload else MeanWithBitsFactory()
    return compose(model_fn, client_work, apply_optimizer(server_optimizer), aggregator)


@contextlib.contextmanager
def frozen_statistics_intended() -> Iterator[None]:
  """Silences TFF's warning that batch-norm statistics will not be updated: fine-tuning
  keeps them on purpose (the model runs in inference mode)."""
  with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Batch Normalization contains non-trainable")
    yield
