"""Small image classifiers: LeNet-5 and a small CIFAR ConvNet.

LeNet-5 after LeCun et al., "Gradient-Based Learning Applied to Document Recognition"
(1998): conv5x5(6)-pool-conv5x5(16)-pool-120-84-classes; the activation is a
parameter because gradient-inversion work (Zhu et al., "Deep Leakage from Gradients",
2019) uses sigmoid, which keeps the network twice differentiable.
The CIFAR ConvNet is TensorFlow's CNN tutorial network: conv3x3(32)-pool-conv3x3(64)-
pool-conv3x3(64)-dense(64)-classes (122,570 parameters on 32x32x3).
"""

from __future__ import annotations

from typing import Sequence


def lenet5(input_shape: Sequence[int] = (32, 32, 3), num_classes: int = 10, *,
           activation: str = "relu"):
  """LeNet-5 with average pooling as in the original; outputs logits."""
  import tensorflow as tf

  layers = tf.keras.layers
  return tf.keras.Sequential([
      layers.InputLayer(input_shape=tuple(input_shape)),
      layers.Conv2D(6, 5, padding="same", activation=activation),
      layers.AveragePooling2D(2),
      layers.Conv2D(16, 5, activation=activation),
      layers.AveragePooling2D(2),
      layers.Flatten(),
      layers.Dense(120, activation=activation),
      layers.Dense(84, activation=activation),
      layers.Dense(num_classes),
  ], name="lenet5")


def cifar_convnet(input_shape: Sequence[int] = (32, 32, 3), num_classes: int = 10):
  """The small CIFAR ConvNet of TensorFlow's CNN tutorial; outputs logits."""
  import tensorflow as tf

  layers = tf.keras.layers
  return tf.keras.Sequential([
      layers.InputLayer(input_shape=tuple(input_shape)),
      layers.Conv2D(32, 3, activation="relu"),
      layers.MaxPool2D(2),
      layers.Conv2D(64, 3, activation="relu"),
      layers.MaxPool2D(2),
      layers.Conv2D(64, 3, activation="relu"),
      layers.Flatten(),
      layers.Dense(64, activation="relu"),
      layers.Dense(num_classes),
  ], name="cifar_convnet")
