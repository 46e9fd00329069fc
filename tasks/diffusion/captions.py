"""The captioned datasets the small text-to-image model trains on: Fashion-MNIST or
CIFAR-10 images at 32x32, each with the caption "a photo of a {class word}".

Class words are the dataset's label names in lower case, with Fashion-MNIST's two
catalogue names made into words a caption can hold:

  ==============  ==========
  label name      class word
  ==============  ==========
  T-shirt/top     t-shirt
  Ankle boot      ankle boot
  ==============  ==========

The article is always "a", also before a vowel ("a photo of a airplane"): the issue
measures samples of "a photo of a {class}" literally, and a prompt-to-prompt word swap
from one class to another then changes the class word's tokens and nothing else.
"""

from __future__ import annotations

from typing import Optional, Sequence, Tuple

import numpy as np

from tff_course.data.dataset import Dataset
from tff_course.data.registry import dataset_info, load_dataset
from tff_course.errors import ConfigError, DataError

DIFFUSION_DATASETS = ("fashion_mnist", "cifar10")
IMAGE_SIZE = 32
CAPTION_TEMPLATE = "a photo of a {}"
SPLITS = ("train", "test")
_CLASS_WORDS = {"t-shirt/top": "t-shirt", "ankle boot": "ankle boot"}


def class_word(label_name: str) -> str:
  """The word (or words) a caption names the class `label_name` by; a class word is
  returned unchanged.

  Raises:
    ConfigError: an empty label name.
  """
  key = " ".join(str(label_name).split()).lower()
  if not key:
    raise ConfigError(f"label name: got {label_name!r}, expected a class name such as "
                      f"'Ankle boot' or 'airplane'")
  return _CLASS_WORDS.get(key, key)


def caption(label_name: str) -> str:
  """"a photo of a {class word}" for the class `label_name` (see the module docstring)."""
  return CAPTION_TEMPLATE.format(class_word(label_name))


def class_words(dataset: Dataset) -> Tuple[str, ...]:
  """The class word of each of `dataset`'s classes, in label order."""
  return tuple(class_word(name) for name in dataset.label_names)


def captions(labels: np.ndarray, words: Sequence[str]) -> Tuple[str, ...]:
  """The caption of each label in `labels`, the classes named by `words`."""
  return tuple(CAPTION_TEMPLATE.format(words[int(label)]) for label in np.asarray(labels))


def diffusion_dataset_name(name: str) -> str:
  """`name` as the registry spells it, if it is a dataset the small model trains on.

  Raises:
    ConfigError: a name the registry does not know (its own error), or a dataset other
      than Fashion-MNIST and CIFAR-10.
  """
  canonical = dataset_info(name).name
  if canonical not in DIFFUSION_DATASETS:
    raise ConfigError(f"dataset: got {name!r}, expected one of "
                      f"{', '.join(DIFFUSION_DATASETS)} (the small model's datasets)")
  return canonical


def to_diffusion_size(images: np.ndarray) -> np.ndarray:
  """uint8 images (N, H, W, C) at 32x32: 28x28 ones (Fashion-MNIST) centred on 2 pixels of
  background (0) on every side, 32x32 ones as they are.

  Raises:
    DataError: images that are neither 28x28 nor 32x32, or not uint8.
  """
  images = np.asarray(images)
  if images.ndim != 4 or images.dtype != np.uint8 or images.shape[1:3] not in (
      (28, 28), (IMAGE_SIZE, IMAGE_SIZE)):
    raise DataError(f"images: got {images.dtype} of shape {images.shape}, expected uint8 "
                    f"(N, 28, 28, C) or (N, {IMAGE_SIZE}, {IMAGE_SIZE}, C)")
  border = (IMAGE_SIZE - images.shape[1]) // 2
  if not border:
    return images
  return np.pad(images, ((0, 0), (border, border), (border, border), (0, 0)),
                constant_values=0)


def diffusion_split(dataset: Dataset, split: str) -> Tuple[np.ndarray, np.ndarray]:
  """`dataset`'s `split` ("train" or "test") as (uint8 images (N, 32, 32, C), int64
  labels).

  Raises:
    ConfigError: an unknown split.
  """
  if split not in SPLITS:
    raise ConfigError(f"split: got {split!r}, expected one of {', '.join(SPLITS)}")
  part = getattr(dataset, split)
  return to_diffusion_size(part.x), np.asarray(part.y, dtype=np.int64)


def load_diffusion_dataset(dataset_name: str, data_dir: Optional[str] = None, *,
                           limit: Optional[int] = None) -> Dataset:
  """Fashion-MNIST or CIFAR-10 through the registry (`limit` examples per split at most).

  Raises:
    ConfigError: an unknown or unsupported dataset, a bad limit.
    DataError: the files are missing or corrupt.
  """
  return load_dataset(diffusion_dataset_name(dataset_name), data_dir=data_dir, limit=limit)


def diffusion_images(dataset_name: str, data_dir: Optional[str] = None,
                     split: str = "train",
                     limit: Optional[int] = None) -> Tuple[np.ndarray, np.ndarray]:
  """The small model's training images: (uint8 (N, 32, 32, C), int64 labels) of
  `dataset_name`'s `split`, Fashion-MNIST padded to 32x32 with its black background,
  CIFAR-10 as it is.

  Raises:
    ConfigError: an unknown or unsupported dataset, split or limit.
    DataError: the files are missing or corrupt.
  """
  if split not in SPLITS:
    raise ConfigError(f"split: got {split!r}, expected one of {', '.join(SPLITS)}")
  return diffusion_split(load_diffusion_dataset(dataset_name, data_dir, limit=limit), split)
