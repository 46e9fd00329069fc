"""The MNIST models of McMahan et al., "Communication-Efficient Learning of Deep
Networks from Decentralized Data" (AISTATS 2017), section 3.

2NN: two hidden layers of 200 ReLU units (199,210 parameters). CNN: two 5x5
convolutions of 32 and 64 channels, each followed by 2x2 max pooling, a 512-unit
ReLU layer and a softmax layer (1,663,370 parameters).
"""

from __future__ import annotations

from typing import Sequence


def mnist_2nn(input_shape: Sequence[int] = (28, 28, 1), num_classes: int = 10):
  """McMahan's 2NN: 784-200-200-10 with ReLU; outputs logits."""
  import tensorflow as tf

  return tf.keras.Sequential([
      tf.keras.layers.InputLayer(input_shape=tuple(input_shape)),
      tf.keras.layers.Flatten(),
      tf.keras.layers.Dense(200, activation="relu"),
      tf.keras.layers.Dense(200, activation="relu"),
      tf.keras.layers.Dense(num_classes),
  ], name="mnist_2nn")


def mnist_2nn_bn(input_shape: Sequence[int] = (28, 28, 1), num_classes: int = 10):
  """The 2NN with batch normalization before each hidden ReLU (a model FedBN applies to);
  outputs logits."""
  import tensorflow as tf

  layers = tf.keras.layers
  hidden = []
  for _ in range(2):
    hidden += [layers.Dense(200, use_bias=False), layers.BatchNormalization(),
               layers.ReLU()]
  return tf.keras.Sequential([layers.InputLayer(input_shape=tuple(input_shape)),
                              layers.Flatten(), *hidden, layers.Dense(num_classes)],
                             name="mnist_2nn_bn")


def mnist_cnn(input_shape: Sequence[int] = (28, 28, 1), num_classes: int = 10):
  """McMahan's CNN: conv5x5(32)-pool-conv5x5(64)-pool-dense(512)-dense; outputs logits."""
  import tensorflow as tf

  layers = tf.keras.layers
  return tf.keras.Sequential([
      layers.InputLayer(input_shape=tuple(input_shape)),
      layers.Conv2D(32, 5, padding="same", activation="relu"),
      layers.MaxPool2D(2, padding="same"),
      layers.Conv2D(64, 5, padding="same", activation="relu"),
      layers.MaxPool2D(2, padding="same"),
      layers.Flatten(),
      layers.Dense(512, activation="relu"),
      layers.Dense(num_classes),
  ], name="mnist_cnn")
