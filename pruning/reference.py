"""The reference task: 5 CIFAR-10 classes and a simple ~593,000-parameter Keras network.

The course's competition pruned a trained network of 592,933 parameters that reached
about 63 % test accuracy on a 5-class image problem after 50 epochs. Here the problem
is CIFAR-10's first five classes (airplane, automobile, bird, cat, deer; Krizhevsky,
2009) and the network is a multilayer perceptron on the raw pixels,
3072-185-128-5 with ReLU, 592,958 parameters, small enough to train on 2 CPU cores:
after 50 epochs (Adam 1e-3, batch 64, seed 0) it reaches 64.4 % on validation and
60.8 % on the 485 test images of the partial test file in ../shared. (A small
convolutional network of the same size, conv3x3(8)-pool-conv3x3(16)-pool-512-128-5,
reaches 74.6 % on these classes: too strong a reference for a 0.6 floor.)

Splits: the last `VALIDATION_PER_CLASS` training images of each class are held out as
a validation set (the pruning methods tune on it, never on test); the official test
split, filtered to the five classes, is the test set the score is measured on.
"""

from __future__ import annotations

import dataclasses
from typing import Optional, Sequence, Tuple

import numpy as np

from tff_course.errors import ConfigError, DataError

CLASSES: Tuple[int, ...] = (0, 1, 2, 3, 4)
VALIDATION_PER_CLASS = 500
INPUT_SHAPE = (32, 32, 3)
MODEL_NAME = "pruning_reference"
PARAMETER_COUNT = 592_958
HIDDEN_UNITS = (185, 128)


@dataclasses.dataclass(frozen=True)
class Arrays:
  """Float32 images in [0, 1] and int64 labels 0..len(CLASSES)-1."""

  x: np.ndarray
  y: np.ndarray

  def __len__(self) -> int:
    return len(self.y)

  def take(self, limit: Optional[int]) -> "Arrays":
    """The first `limit` examples (all when `limit` is None)."""
    if limit is None or limit >= len(self):
      return self
    return Arrays(self.x[:limit], self.y[:limit])


@dataclasses.dataclass(frozen=True)
class TaskData:
  """The reference task's train, validation and test sets, and where they came from."""

  train: Arrays
  validation: Arrays
  test: Arrays
  label_names: Sequence[str]
  source: str
  notes: str = ""


def select_classes(x: np.ndarray, y: np.ndarray,
                   classes: Sequence[int] = CLASSES) -> Arrays:
  """The examples of `classes`, relabelled 0..len(classes)-1 in that order, scaled to [0, 1]."""
  lookup = np.full(max(int(y.max()), max(classes)) + 1, -1, np.int64)
  lookup[list(classes)] = np.arange(len(classes))
  keep = lookup[y] >= 0
  return Arrays(x[keep].astype(np.float32) / 255.0, lookup[y[keep]])


def split_validation(data: Arrays, per_class: int) -> Tuple[Arrays, Arrays]:
  """(train, validation): the last `per_class` examples of each class go to validation."""
  held = np.zeros(len(data), bool)
  for label in np.unique(data.y):
    where = np.flatnonzero(data.y == label)
    if len(where) <= per_class:
      raise DataError(f"class {label}: {len(where)} training images, expected more than "
                      f"the {per_class} held out for validation")
    held[where[-per_class:]] = True
  return Arrays(data.x[~held], data.y[~held]), Arrays(data.x[held], data.y[held])


def load_task(data_dir: Optional[str] = None, *,
              validation_per_class: int = VALIDATION_PER_CLASS) -> TaskData:
  """Loads CIFAR-10 through the toolkit and cuts the reference task from it."""
  from tff_course.data import load_dataset

  dataset = load_dataset("cifar10", data_dir=data_dir)
  train, validation = split_validation(select_classes(dataset.train.x, dataset.train.y),
                                       validation_per_class)
  test = select_classes(dataset.test.x, dataset.test.y)
  notes = dataset.notes or ""
  return TaskData(train=train, validation=validation, test=test,
                  label_names=[dataset.label_names[c] for c in CLASSES],
                  source=dataset.source, notes=notes)


def load_test(data_dir: Optional[str] = None) -> Arrays:
  """The reference task's test set alone. From a data directory it reads only CIFAR-10's
  batches.meta and test batch; without one it loads the task through the toolkit."""
  from tff_course.data.cifar import load_cifar10
  from tff_course.data.registry import dataset_folder

  folder = dataset_folder("cifar10", data_dir)
  if folder is None:
    return load_task().test
  dataset = load_cifar10(folder, splits=("test",))
  return select_classes(dataset.test.x, dataset.test.y)


def build_reference_model(*, seed: Optional[int] = None):
  """The reference network (uncompiled, logits out); `seed` fixes its initial weights."""
  import tensorflow as tf

  if seed is not None:
    tf.keras.utils.set_random_seed(seed)
  layers = tf.keras.layers
  return tf.keras.Sequential([
      layers.InputLayer(input_shape=INPUT_SHAPE),
      layers.Flatten(name="flatten"),
      layers.Dense(HIDDEN_UNITS[0], activation="relu", name="dense1"),
      layers.Dense(HIDDEN_UNITS[1], activation="relu", name="dense2"),
      layers.Dense(len(CLASSES), name="logits"),
  ], name=MODEL_NAME)


def check_input_shape(x: np.ndarray, name: str = "x") -> None:
  """Raises ConfigError unless `x` is a batch of INPUT_SHAPE images."""
  if x.ndim != 4 or tuple(x.shape[1:]) != INPUT_SHAPE:
    raise ConfigError(f"{name}: got shape {tuple(x.shape)}, expected (N, "
                      f"{', '.join(map(str, INPUT_SHAPE))})")
