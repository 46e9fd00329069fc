"""New tasks for a CIFAR backbone: MNIST and Fashion-MNIST as 32x32 colour images.

Task-vector papers fine-tune image models on MNIST among their tasks (Ilharco et al.,
ICLR 2023); a CIFAR-10 backbone takes 32x32x3 inputs, so 28x28 grey digits are padded by
2 pixels on each side and repeated over 3 channels. A task's validation split is the
last `validation` training examples (alpha for task arithmetic is chosen on it).
"""

from __future__ import annotations

import dataclasses
from typing import Optional

import numpy as np

from tff_course.data.dataset import Split
from tff_course.errors import ConfigError

TASKS = ("cifar10", "mnist", "fashion_mnist")


@dataclasses.dataclass(frozen=True)
class Task:
  """A classification task's train, validation and test splits, as 32x32x3 uint8 images."""

  name: str
  train: Split
  validation: Split
  test: Split
  num_classes: int


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


def load_task(name: str, *, data_dir: Optional[str] = None, train_limit: Optional[int] = None,
              validation: int = 1000, test_limit: Optional[int] = None) -> Task:
  """The task `name` (one of TASKS) from the official files in `data_dir`.

  Args:
    train_limit: training examples kept (after the validation ones are set aside).
    validation: training examples set aside as the validation split (from the end).
    test_limit: test examples kept.
  """
  from tff_course.data.registry import load_dataset

  if name not in TASKS:
    raise ConfigError(f"task: got {name!r}, expected one of {', '.join(TASKS)}")
  if validation < 1:
    raise ConfigError(f"validation: got {validation}, expected at least 1 example")
  dataset = load_dataset(name, data_dir=data_dir)
  train = Split(x=as_colour_32(dataset.train.x), y=dataset.train.y)
  if validation >= len(train):
    raise ConfigError(f"validation: got {validation}, expected fewer than the "
                      f"{len(train):,} training examples")
  held_out = Split(x=train.x[-validation:], y=train.y[-validation:])
  train = Split(x=train.x[:-validation], y=train.y[:-validation]).take(train_limit)
  test = Split(x=as_colour_32(dataset.test.x), y=dataset.test.y).take(test_limit)
  return Task(name, train, held_out, test, dataset.num_classes)
