"""Tasks for a CIFAR backbone: CIFAR-10, and MNIST and Fashion-MNIST as 32x32 colour
images (`tff_course.data.colour`). A task's validation split is the last `validation`
training examples (alpha for task arithmetic is chosen on it).
"""

from __future__ import annotations

import dataclasses
from typing import Optional

from tff_course.data.dataset import Split
from tff_course.errors import ConfigError

TASKS = ("cifar10", "mnist", "fashion_mnist")
_DATASETS = {"cifar10": "cifar10", "mnist": "mnist_rgb32",
             "fashion_mnist": "fashion_mnist_rgb32"}


@dataclasses.dataclass(frozen=True)
class Task:
  """A classification task's train, validation and test splits, as 32x32x3 uint8 images."""

  name: str
  train: Split
  validation: Split
  test: Split
  num_classes: int


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
  dataset = load_dataset(_DATASETS[name], data_dir=data_dir)
  train = dataset.train
  if validation >= len(train):
    raise ConfigError(f"validation: got {validation}, expected fewer than the "
                      f"{len(train):,} training examples")
  held_out = Split(x=train.x[-validation:], y=train.y[-validation:])
  train = Split(x=train.x[:-validation], y=train.y[:-validation]).take(train_limit)
  test = dataset.test.take(test_limit)
  return Task(name, train, held_out, test, dataset.num_classes)
