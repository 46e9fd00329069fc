"""MNIST and Fashion-MNIST from their official IDX files.

LeCun, Cortes, Burges, "The MNIST database of handwritten digits" (1998);
Xiao, Rasul, Vollgraf, "Fashion-MNIST" (2017). Both use the same four files.
"""

from __future__ import annotations

import os
from typing import Optional, Sequence

from tff_course.data.dataset import Dataset, Modality, Split, check_labels
from tff_course.data.idx import read_idx
from tff_course.errors import DataError

MNIST_LABELS = tuple(str(digit) for digit in range(10))
FASHION_MNIST_LABELS = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal",
                        "Shirt", "Sneaker", "Bag", "Ankle boot")
_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def load_idx_dataset(folder: str, name: str, label_names: Sequence[str], *,
                     limit: Optional[int] = None) -> Dataset:
  """Loads a dataset laid out as MNIST's four IDX files (`.gz` or uncompressed) in `folder`."""
  splits = {split: _load_split(folder, images, labels, len(label_names), limit)
            for split, (images, labels) in _FILES.items()}
  return Dataset(name=name, train=splits["train"], test=splits["test"],
                 label_names=tuple(label_names), modality=Modality.IMAGE, source=folder)


def _load_split(folder: str, images_name: str, labels_name: str, num_classes: int,
                limit: Optional[int]) -> Split:
  images_path = _existing(folder, images_name)
  labels_path = _existing(folder, labels_name)
  images = read_idx(images_path, expected_ndim=3, limit=limit)
  labels = read_idx(labels_path, expected_ndim=1, limit=limit)
  if len(images) != len(labels):
    raise DataError(
        f"{images_path}: holds {len(images):,} images but {labels_path} holds "
        f"{len(labels):,} labels; the two files must come from the same release")
  return Split(x=images[..., None], y=check_labels(labels, num_classes, labels_path))


def _existing(folder: str, stem: str) -> str:
  for path in (os.path.join(folder, stem + ".gz"), os.path.join(folder, stem)):
    if os.path.isfile(path):
      return path
  raise DataError(f"{os.path.join(folder, stem)}.gz: file not found (nor uncompressed)")
