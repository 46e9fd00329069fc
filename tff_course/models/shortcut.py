"""The parameter-free shortcut of ResNets for CIFAR ("option A", He et al. 2016, sec. 4.2)."""

from __future__ import annotations

import tensorflow as tf


@tf.keras.utils.register_keras_serializable(package="tff_course")
class SubsampleZeroPad(tf.keras.layers.Layer):
  """The parameter-free shortcut: every second pixel, `extra` zero channels on each side."""

  def __init__(self, extra: int, **kwargs):
    super().__init__(**kwargs)
    self.extra = extra

  def call(self, inputs):
    subsampled = inputs[:, ::2, ::2, :]
    return tf.pad(subsampled, [[0, 0], [0, 0], [0, 0], [self.extra, self.extra]])

  def get_config(self):
    return {**super().get_config(), "extra": self.extra}
