"""The LeNet of "Deep Leakage from Gradients" (Zhu et al., NeurIPS 2019).

The reference PyTorch network: three 5x5 convolutions of 12 channels (strides 2, 2, 1,
padding 2 on every side) with sigmoid activations, then one dense layer on the 768
flattened features; every weight and bias drawn uniformly from [-0.5, 0.5]. The
sigmoid keeps the network twice differentiable, which gradient matching needs. The
paper's network has 100 outputs (CIFAR-100); here the class count is a parameter
(10 for CIFAR-10: 15,826 parameters on 32x32x3). Keras flattens channels-last where
PyTorch flattens channels-first, which permutes the dense layer's rows and changes
nothing else.
"""

from __future__ import annotations

from typing import Optional, Sequence

INIT_RANGE = 0.5


def dlg_lenet(input_shape: Sequence[int] = (32, 32, 3), num_classes: int = 10, *,
              seed: Optional[int] = None):
  """DLG's sigmoid LeNet, weights uniform in [-0.5, 0.5] from `seed`; outputs logits."""
  import tensorflow as tf

  layers = tf.keras.layers

  def uniform(index: int):
    layer_seed = None if seed is None else seed * 16 + index
    return tf.keras.initializers.RandomUniform(-INIT_RANGE, INIT_RANGE, seed=layer_seed)

  def conv(index: int, strides: int):
    return [layers.ZeroPadding2D(2),
            layers.Conv2D(12, 5, strides=strides, activation="sigmoid",
                          kernel_initializer=uniform(2 * index),
                          bias_initializer=uniform(2 * index + 1))]

  return tf.keras.Sequential(
      [layers.InputLayer(input_shape=tuple(input_shape))] + conv(0, 2) + conv(1, 2) +
      conv(2, 1) + [layers.Flatten(),
                    layers.Dense(num_classes, kernel_initializer=uniform(6),
                                 bias_initializer=uniform(7))],
      name="dlg_lenet")
