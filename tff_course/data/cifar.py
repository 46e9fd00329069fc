"""CIFAR-10 and CIFAR-100 from their official "python version" pickled batches.

Krizhevsky, "Learning Multiple Layers of Features from Tiny Images" (2009). Each batch
is a pickle of a dict with 'data', uint8 (N, 3072) in channel-major order, and
'labels' (CIFAR-10) or 'fine_labels'/'coarse_labels' (CIFAR-100). The pickles are
trusted as the official files are; do not point this reader at files of unknown origin.
"""

from __future__ import annotations

import glob
import os
import pickle
from typing import Optional, Sequence

import numpy as np

from tff_course.data.dataset import Dataset, Modality, Split, check_labels
from tff_course.errors import ConfigError, DataError

_CIFAR10_TRAIN = tuple(f"data_batch_{i}" for i in range(1, 6))
SPLITS = ("train", "test")
_EMPTY = Split(x=np.zeros((0, 32, 32, 3), np.uint8), y=np.zeros(0, np.int64))


def load_cifar10(folder: str, *, limit: Optional[int] = None,
                 splits: Sequence[str] = SPLITS) -> Dataset:
  """Loads CIFAR-10 from `folder` (the `cifar-10-batches-py` directory).

  A test file other than `test_batch` (such as a partial `test_batch_first1000`) is
  accepted when `test_batch` is absent, and named in the dataset's notes.

  Args:
    folder: directory holding `batches.meta`, `data_batch_1`..`data_batch_5` and
      `test_batch`.
    limit: read at most this many examples per split.
    splits: the splits to read; a split left out is empty and its files are not opened.
  """
  check_splits(splits)
  label_names = _strings(_read_pickle(os.path.join(folder, "batches.meta")), "label_names",
                         os.path.join(folder, "batches.meta"))
  train = test = _EMPTY
  notes = ()
  if "train" in splits:
    train = _read_batches([os.path.join(folder, name) for name in _CIFAR10_TRAIN],
                          "labels", len(label_names), limit)
  if "test" in splits:
    test_path, notes = _test_file(folder, "test_batch")
    test = _read_batches([test_path], "labels", len(label_names), limit)
  return Dataset(name="cifar10", train=train, test=test, label_names=label_names,
                 modality=Modality.IMAGE, source=folder, notes=notes)


def load_cifar100(folder: str, *, label_mode: str = "fine",
                  limit: Optional[int] = None) -> Dataset:
  """Loads CIFAR-100 from `folder` (the `cifar-100-python` directory).

  Args:
    folder: directory holding `train`, `test` and `meta`.
    label_mode: "fine" (100 classes) or "coarse" (20 superclasses).
    limit: read at most this many examples per split.
  """
  check_label_mode(label_mode)
  meta_path = os.path.join(folder, "meta")
  label_names = _strings(_read_pickle(meta_path), f"{label_mode}_label_names", meta_path)
  key = f"{label_mode}_labels"
  train = _read_batches([os.path.join(folder, "train")], key, len(label_names), limit)
  test_path, notes = _test_file(folder, "test")
  test = _read_batches([test_path], key, len(label_names), limit)
  return Dataset(name="cifar100", train=train, test=test, label_names=label_names,
                 modality=Modality.IMAGE, source=folder, notes=notes)


def check_splits(splits: Sequence[str]) -> None:
  """Raises ConfigError unless `splits` is a non-empty selection of "train" and "test"."""
  unknown = [split for split in splits if split not in SPLITS]
  if unknown or not splits:
    raise ConfigError(f"splits: got {splits!r}, expected a non-empty sequence of "
                      f"{' and '.join(map(repr, SPLITS))}")


def check_label_mode(label_mode: str) -> None:
  """Raises DataError unless `label_mode` is "fine" or "coarse"."""
  if label_mode not in ("fine", "coarse"):
    raise DataError(f"label_mode: got {label_mode!r}, expected 'fine' or 'coarse'")


def _test_file(folder: str, official: str) -> tuple:
  path = os.path.join(folder, official)
  if os.path.isfile(path):
    return path, ()
  others = sorted(glob.glob(glob.escape(path) + "?*"))
  if not others:
    raise DataError(f"{path}: file not found")
  return others[0], (f"test split read from {os.path.basename(others[0])} in place of "
                     f"the official {official}",)


def _read_batches(paths, label_key: str, num_classes: int, limit: Optional[int]) -> Split:
  images, labels = [], []
  remaining = limit
  for path in paths:
    if remaining is not None and remaining <= 0:
      break
    batch = _read_pickle(path)
    data, batch_labels = _batch_arrays(batch, label_key, path)
    if remaining is not None:
      data, batch_labels = data[:remaining], batch_labels[:remaining]
      remaining -= len(data)
    images.append(data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
    labels.append(check_labels(batch_labels, num_classes, path))
  return Split(x=np.concatenate(images), y=np.concatenate(labels))


def _batch_arrays(batch: dict, label_key: str, path: str) -> tuple:
  for key in ("data", label_key):
    if key not in batch:
      raise DataError(f"{path}: no {key!r} entry; found {sorted(batch)}")
  data = np.asarray(batch["data"])
  labels = np.asarray(batch[label_key])
  if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
    raise DataError(
        f"{path}: 'data' must be uint8 of shape (N, 3072), got {data.dtype} {data.shape}")
  if len(labels) != len(data):
    raise DataError(f"{path}: {len(data):,} images but {len(labels):,} labels")
  return data, labels


def _read_pickle(path: str) -> dict:
  if not os.path.isfile(path):
    raise DataError(f"{path}: file not found")
  try:
    with open(path, "rb") as stream:
      content = pickle.load(stream, encoding="bytes")
  except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError,
          IndexError, KeyError, ImportError, OverflowError, MemoryError) as error:
    raise DataError(f"{path}: corrupt or truncated pickle ({type(error).__name__}: "
                    f"{error})") from None
  if not isinstance(content, dict):
    raise DataError(f"{path}: expected a pickled dict, got {type(content).__name__}")
  return {_text(key): value for key, value in content.items()}


def _strings(meta: dict, key: str, path: str) -> tuple:
  if key not in meta:
    raise DataError(f"{path}: no {key!r} entry; found {sorted(meta)}")
  return tuple(_text(name) for name in meta[key])


def _text(value) -> str:
  return value.decode("utf-8") if isinstance(value, bytes) else str(value)
