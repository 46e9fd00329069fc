"""Local fine-tuning after federated training, the simplest personalization: every client
takes a few SGD steps from the global model on its own training examples and is scored on
its own held-out ones."""

from __future__ import annotations

from typing import Dict, Hashable, Sequence

import numpy as np

from tff_course.data.dataset import Modality, Split
from tff_course.errors import ConfigError
from tff_course.experiment.client_accuracy import (ClientAccuracy, assign_model,
                                                   evaluate_personal)


def step_batches(size: int, batch_size: int, steps: int) -> np.ndarray:
  """Row positions of `steps` batches of `batch_size` over `size` rows in stored order,
  wrapping around as often as needed (shape [steps, batch_size] or less for small data)."""
  if steps < 1 or batch_size < 1:
    raise ConfigError(f"fine-tuning: got steps {steps} and batch size {batch_size}, expected "
                      f"whole numbers >= 1")
  width = min(batch_size, size)
  starts = (np.arange(steps) * width) % size
  return (starts[:, None] + np.arange(width)[None, :]) % size


def fine_tuned_accuracy(keras_model, trainable: Sequence[np.ndarray],
                        non_trainable: Sequence[np.ndarray], train: Split,
                        owners: Dict[Hashable, np.ndarray], held_out: Split,
                        modality: Modality, *, steps: int, learning_rate: float,
                        batch_size: int) -> ClientAccuracy:
  """Each client of `held_out` fine-tuned from the global model ((non-)trainable arrays)
  with `steps` plain SGD steps on its rows of `train` (`owners[client]`, batches as
  `step_batches` gives them; inference-mode normalization), then scored on its held-out
  rows."""
  import tensorflow as tf

  from tff_course.data.pipeline import model_inputs

  loss_fn = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)
  variables = keras_model.trainable_weights

  @tf.function(reduce_retracing=True)
  def sgd_step(x, y):
    with tf.GradientTape() as tape:
      loss = loss_fn(y, keras_model(x, training=False))
    for variable, gradient in zip(variables, tape.gradient(loss, variables)):
      variable.assign_sub(learning_rate * gradient)

  def fine_tuned(client):
    assign_model(keras_model, trainable, non_trainable)
    rows = owners[client]
    for batch in step_batches(len(rows), batch_size, steps):
      sgd_step(model_inputs(train.x[rows[batch]], modality), train.y[rows[batch]])
    return ([w.numpy() for w in keras_model.trainable_weights],
            [w.numpy() for w in keras_model.non_trainable_weights])

  return evaluate_personal(keras_model, held_out, modality, fine_tuned)
