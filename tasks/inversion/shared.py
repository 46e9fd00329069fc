"""The gradient a client shares: from a single example or batch, or as one client's
FedSGD step in the toolkit's runner computes it.

In FedSGD (McMahan et al., 2017) a client sends the gradient of its mean loss over all
its examples at the current model. `fedsgd_client_gradient` computes it the way the
runner's FedSGD client work does: the run's Keras model wrapped by `keras_model_fn`
(sparse cross-entropy on logits), the client's examples in one full batch through
`make_tf_dataset`, per-batch gradients weighted by their example counts.
"""

from __future__ import annotations

from typing import Callable, List, Optional

import tensorflow as tf

from tasks.inversion.checks import GradientError, check_images, check_labels


def shared_gradient(model, images, labels) -> List[tf.Tensor]:
  """The gradient of the mean cross-entropy of `model` on (images in [0, 1], int labels).

  Raises:
    DataError: images of the wrong shape or range, or labels out of range.
    GradientError: the loss does not reach some trainable variable (a None gradient).
  """
  images = check_images(images, model.input_shape[1:])
  labels = check_labels(labels, len(images), model.output_shape[-1])
  with tf.GradientTape() as tape:
    loss = tf.reduce_mean(tf.keras.losses.sparse_categorical_crossentropy(
        labels, model(images, training=False), from_logits=True))
  return _checked(tape.gradient(loss, model.trainable_variables), model.trainable_variables)


def fedsgd_client_gradient(build_keras_model: Callable, weights, stored_images, labels, *,
                           modality=None, batch_size: Optional[int] = None) -> List[tf.Tensor]:
  """The gradient one client sends in a FedSGD round of the runner.

  Args:
    build_keras_model: the run's model builder (no arguments), as the runner's
      `Federation.build_keras_model`.
    weights: the server model's trainable weights at the round (a list of arrays).
    stored_images: the client's examples as stored (uint8 images).
    labels: their integer labels.
    modality: how stored examples become model inputs (default: images).
    batch_size: the client's batch size (None: all examples in one batch, FedSGD).
  """
  from tff_course.algorithms.model_fn import keras_model_fn
  from tff_course.data import Modality
  from tff_course.data.pipeline import make_tf_dataset

  dataset = make_tf_dataset(stored_images, labels, modality or Modality.IMAGE,
                            batch_size=batch_size)
  model = keras_model_fn(build_keras_model, dataset.element_spec)()
  for variable, value in zip(model.trainable_variables, weights):
    variable.assign(value)
  sums = [tf.zeros_like(v) for v in model.trainable_variables]
  count = 0.0
  for batch in dataset:
    with tf.GradientTape() as tape:
      output = model.forward_pass(batch, training=True)
    gradients = _checked(tape.gradient(output.loss, model.trainable_variables),
                         model.trainable_variables)
    examples = float(output.num_examples)
    sums = [s + examples * g for s, g in zip(sums, gradients)]
    count += examples
  return [s / count for s in sums]


def _checked(gradients, variables) -> List[tf.Tensor]:
  for gradient, variable in zip(gradients, variables):
    if gradient is None:
      raise GradientError(f"model: the loss does not reach {variable.name}, so its "
                          f"gradient is None; remove the unused layer or freeze it")
  return list(gradients)
