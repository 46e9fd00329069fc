"""Dense models for feature vectors: multinomial logistic regression and a small MLP.

Li et al. (FedProx, 2020) train multinomial logistic regression on Synthetic(alpha, beta).
"""

from __future__ import annotations

from typing import Sequence


def logistic(input_shape: Sequence[int], num_classes: int):
  """Multinomial logistic regression (one dense layer); outputs logits."""
  import tensorflow as tf

  return tf.keras.Sequential([tf.keras.layers.InputLayer(input_shape=tuple(input_shape)),
                              tf.keras.layers.Flatten(),
                              tf.keras.layers.Dense(num_classes)], name="logistic")


def mlp(input_shape: Sequence[int], num_classes: int, *, hidden: Sequence[int] = (64,)):
  """Dense ReLU layers of the given widths, then a dense output; outputs logits."""
  import tensorflow as tf

  layers = [tf.keras.layers.InputLayer(input_shape=tuple(input_shape)),
            tf.keras.layers.Flatten()]
  layers += [tf.keras.layers.Dense(width, activation="relu") for width in hidden]
  layers.append(tf.keras.layers.Dense(num_classes))
  return tf.keras.Sequential(layers, name="mlp")
