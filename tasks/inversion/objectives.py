"""What the attacks minimise: the distance between a dummy input's gradient and the
shared one, and the image priors.

DLG (Zhu et al., 2019) uses the squared Euclidean distance summed over all layers;
Inverting Gradients (Geiping et al., NeurIPS 2020) one minus the cosine similarity of
the whole gradient vectors, plus a total-variation prior. The model's loss is the
cross-entropy against soft labels (a probability vector per example), averaged over
the batch, so that a dummy label can be optimised like the image.
"""

from __future__ import annotations

from typing import List, Sequence

import tensorflow as tf


def soft_cross_entropy(logits, soft_labels):
  """Mean over the batch of -sum(labels * log_softmax(logits))."""
  return tf.reduce_mean(tf.reduce_sum(-soft_labels * tf.nn.log_softmax(logits), axis=-1))


def model_gradients(model, images, soft_labels) -> List[tf.Tensor]:
  """The gradient of the soft cross-entropy on (images, labels) for each trainable
  variable of `model`; a variable the loss does not reach gets zeros."""
  with tf.GradientTape() as tape:
    loss = soft_cross_entropy(model(images, training=False), soft_labels)
  return tape.gradient(loss, model.trainable_variables,
                       unconnected_gradients=tf.UnconnectedGradients.ZERO)


def squared_distance(gradients: Sequence, targets: Sequence):
  """Sum over layers of ||g - target||^2 (DLG)."""
  return tf.add_n([tf.reduce_sum(tf.square(g - t)) for g, t in zip(gradients, targets)])


def squared_norm(tensors: Sequence):
  """Sum over layers of ||t||^2: all tensors as one vector's squared Euclidean norm."""
  return tf.add_n([tf.reduce_sum(tf.square(t)) for t in tensors])


def cosine_distance(gradients: Sequence, targets: Sequence):
  """1 - <g, target> / (|g| |target|) over all layers as one vector (Inverting Gradients)."""
  dot = tf.add_n([tf.reduce_sum(g * t) for g, t in zip(gradients, targets)])
  norms = tf.sqrt(squared_norm(gradients)) * tf.sqrt(squared_norm(targets))
  return 1 - dot / tf.maximum(norms, tf.keras.backend.epsilon())


def total_variation(images):
  """Mean absolute difference between neighbouring pixels, rows and columns
  (Inverting Gradients' anisotropic TV)."""
  rows = tf.reduce_mean(tf.abs(images[:, 1:, :, :] - images[:, :-1, :, :]))
  columns = tf.reduce_mean(tf.abs(images[:, :, 1:, :] - images[:, :, :-1, :]))
  return rows + columns
