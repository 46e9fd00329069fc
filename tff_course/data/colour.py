"""Grey 28x28 digits as the 32x32 colour images a CIFAR backbone takes.

Task-vector papers fine-tune image models on MNIST among their tasks (Ilharco et al.,
ICLR 2023); a CIFAR-10 backbone takes 32x32x3 inputs, so 28x28 grey images are padded by
2 pixels on each side and repeated over 3 channels.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from tff_course.data.dataset import Dataset, Split
from tff_course.errors import ConfigError


def as_colour_32(images: np.ndarray) -> np.ndarray:
  """(N, 28, 28[, 1]) grey images -> (N, 32, 32, 3), zero-padded; 32x32x3 left as is."""
  images = np.asarray(images)
  if images.shape[1:] == (32, 32, 3):
    return images
  if images.ndim == 4 and images.shape[-1] == 1:
    images = images[..., 0]
  if images.shape[1:] != (28, 28):
    raise ConfigError(f"images: got shape {images.shape[1:]}, expected 28x28 grey or "
                      f"32x32x3")
  padded = np.pad(images, ((0, 0), (2, 2), (2, 2)))
  return np.repeat(padded[..., None], 3, axis=-1)


def colour_dataset(dataset: Dataset, name: str) -> Dataset:
  """`dataset` with its images as 32x32x3 (`as_colour_32`), renamed `name`."""
  def split(part: Split) -> Split:
    return dataclasses.replace(part, x=as_colour_32(part.x))

  return dataclasses.replace(dataset, name=name, train=split(dataset.train),
                             test=split(dataset.test))
