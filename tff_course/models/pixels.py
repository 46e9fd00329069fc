"""Pixel values in [0, 1] (the toolkit's image inputs, tff_course.data.pipeline) normalized
with ImageNet's mean and standard deviation, as torchvision's pre-trained models expect."""

from __future__ import annotations

import numpy as np

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406])
IMAGENET_STD = np.array([0.229, 0.224, 0.225])


def imagenet_normalization(name: str = "normalize"):
  """A Keras Normalization layer: (pixel - mean) / std per channel, for [0, 1] inputs."""
  import tensorflow as tf

  return tf.keras.layers.Normalization(mean=IMAGENET_MEAN, variance=IMAGENET_STD ** 2,
                                       name=name)
