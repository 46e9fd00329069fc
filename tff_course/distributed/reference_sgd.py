"""Plain SGD in one process on given batches: what distributed runs are checked against."""

from __future__ import annotations

from typing import Callable, List, Sequence

import numpy as np


def sgd_on_batches(build_model: Callable[[], object], x: np.ndarray, y: np.ndarray,
                   batches: Sequence[np.ndarray], learning_rate: float,
                   seed: int) -> List[np.ndarray]:
  """The trainable weights after one SGD step (cross-entropy on logits) on each batch of
  example indices in turn, from the model `build_model` gives under `seed`."""
  import tensorflow as tf

  tf.keras.utils.set_random_seed(seed)
  model = build_model()
  loss = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)
  for batch in batches:
    with tf.GradientTape() as tape:
      value = loss(y[batch], model(x[batch], training=True))
    for variable, gradient in zip(model.trainable_variables,
                                  tape.gradient(value, model.trainable_variables)):
      variable.assign_sub(learning_rate * gradient)
  return [v.numpy() for v in model.trainable_variables]
