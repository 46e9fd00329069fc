"""Training a next-character model on every character of its window, not only the last.

LEAF scores a model on the character after an 80-character window. McMahan et al.
(2017) train their LSTM as a language model: at every position of the unrolled window
it predicts the next character. `EveryCharacterLoss` gives a Keras model that second
signal while keeping LEAF's output: the model still returns the logits for the
character after the window (what the usual loss and accuracy see), and in training it
adds the mean cross-entropy of predicting characters 2 to 80 of the window from the
ones before them. One forward pass then trains on 80 targets instead of one.
"""

from __future__ import annotations

import tensorflow as tf


@tf.keras.utils.register_keras_serializable(package="tff_course")
class EveryCharacterLoss(tf.keras.layers.Layer):
  """(codes (B, L), logits (B, L, V)) -> logits (B, V) after the window; in training,
  adds the mean cross-entropy of logits[:, t] for codes[:, t + 1], t < L - 1."""

  def call(self, inputs, training=None):
    codes, logits = inputs
    if training:
      self.add_loss(tf.reduce_mean(tf.keras.losses.sparse_categorical_crossentropy(
          codes[:, 1:], logits[:, :-1], from_logits=True)))
    return logits[:, -1]
