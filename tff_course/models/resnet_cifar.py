"""ResNet-20 for CIFAR with batch normalization, laid out as the published PyTorch model.

He et al., "Deep Residual Learning for Image Recognition" (CVPR 2016), section 4.2,
as akamaster/pytorch_resnet_cifar10 implements it (the checkpoint in the course's data
folder): 3x3 convolutions without bias, each followed by batch normalization (epsilon
1e-5); shortcuts that change shape subsample by 2 and zero-pad the new channels
("option A", no parameters). Layers are named as the checkpoint's keys ("layer2.0.conv1"),
so converting is a lookup. Convolutions pad one pixel explicitly, as PyTorch does, because
Keras' "same" pads a stride-2 convolution on one side only. The model takes pixel values
in [0, 1] (as every image model of the toolkit) and normalizes them as the checkpoint was
trained (ImageNet's mean and standard deviation); it outputs logits.
"""

from __future__ import annotations

from typing import Sequence

STAGES = (16, 32, 64)
BLOCKS_PER_STAGE = 3
BATCH_NORM_EPSILON = 1e-5


def resnet20_cifar(input_shape: Sequence[int] = (32, 32, 3), num_classes: int = 10):
  """ResNet-20 (269,722 parameters for 10 classes) in the published PyTorch layout."""
  import tensorflow as tf

  from tff_course.models.pixels import imagenet_normalization

  layers = tf.keras.layers
  inputs = tf.keras.Input(shape=tuple(input_shape))
  x = imagenet_normalization()(inputs)
  x = _conv_batch_norm(x, STAGES[0], 1, "conv1", "bn1")
  x = layers.ReLU()(x)
  for stage, channels in enumerate(STAGES):
    for block in range(BLOCKS_PER_STAGE):
      stride = 2 if stage > 0 and block == 0 else 1
      x = _basic_block(x, channels, stride, f"layer{stage + 1}.{block}")
  x = layers.GlobalAveragePooling2D()(x)
  outputs = layers.Dense(num_classes, name="linear")(x)
  return tf.keras.Model(inputs, outputs, name="resnet20_cifar")


def _conv_batch_norm(x, channels: int, stride: int, conv_name: str, norm_name: str):
  import tensorflow as tf

  layers = tf.keras.layers
  x = layers.ZeroPadding2D(1)(x)
  x = layers.Conv2D(channels, 3, strides=stride, use_bias=False, name=conv_name)(x)
  return layers.BatchNormalization(epsilon=BATCH_NORM_EPSILON, momentum=0.9,
                                   name=norm_name)(x)


def _basic_block(x, channels: int, stride: int, name: str):
  import tensorflow as tf

  from tff_course.models.shortcut import SubsampleZeroPad

  layers = tf.keras.layers
  shortcut = x
  if stride != 1 or x.shape[-1] != channels:
    shortcut = SubsampleZeroPad((channels - x.shape[-1]) // 2)(x)
  y = _conv_batch_norm(x, channels, stride, f"{name}.conv1", f"{name}.bn1")
  y = layers.ReLU()(y)
  y = _conv_batch_norm(y, channels, 1, f"{name}.conv2", f"{name}.bn2")
  return layers.ReLU()(layers.Add()([y, shortcut]))
