"""ResNet-20 for CIFAR with group normalization.

He et al., "Deep Residual Learning for Image Recognition" (CVPR 2016), section 4.2:
a 3x3 convolution of 16 channels, three stages of three basic blocks (16, 32, 64
channels; stride 2 at the start of stages 2 and 3), global average pooling and a
dense layer. Batch normalization is replaced by group normalization (Wu and He,
ECCV 2018), as Hsieh et al. ("The Non-IID Data Quagmire", ICML 2020) recommend for
non-IID federated training. Shortcuts that change shape use 1x1 convolutions.
"""

from __future__ import annotations

from typing import Sequence

STAGES = (16, 32, 64)
BLOCKS_PER_STAGE = 3


def resnet20_groupnorm(input_shape: Sequence[int] = (32, 32, 3), num_classes: int = 10, *,
                       groups: int = 2):
  """ResNet-20 with GroupNormalization(`groups`) after every convolution; outputs logits."""
  import tensorflow as tf

  layers = tf.keras.layers
  inputs = tf.keras.Input(shape=tuple(input_shape))
  x = _conv_norm(inputs, STAGES[0], 1, groups)
  x = layers.ReLU()(x)
  for stage, channels in enumerate(STAGES):
    for block in range(BLOCKS_PER_STAGE):
      stride = 2 if stage > 0 and block == 0 else 1
      x = _basic_block(x, channels, stride, groups)
  x = layers.GlobalAveragePooling2D()(x)
  outputs = layers.Dense(num_classes)(x)
  return tf.keras.Model(inputs, outputs, name="resnet20_groupnorm")


def _conv_norm(x, channels: int, stride: int, groups: int):
  import tensorflow as tf

  layers = tf.keras.layers
  x = layers.Conv2D(channels, 3, strides=stride, padding="same", use_bias=False,
                    kernel_initializer="he_normal")(x)
  return layers.GroupNormalization(groups=groups)(x)


def _basic_block(x, channels: int, stride: int, groups: int):
  import tensorflow as tf

  layers = tf.keras.layers
  shortcut = x
  y = layers.ReLU()(_conv_norm(x, channels, stride, groups))
  y = _conv_norm(y, channels, 1, groups)
  if stride != 1 or x.shape[-1] != channels:
    shortcut = layers.Conv2D(channels, 1, strides=stride, use_bias=False)(x)
    shortcut = layers.GroupNormalization(groups=groups)(shortcut)
  return layers.ReLU()(layers.Add()([y, shortcut]))
