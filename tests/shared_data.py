"""Finding the real dataset files for tests: $TFF_COURSE_DATA_DIR, else ../shared/data."""

import os
import unittest

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def shared_data_dir():
  """The directory of official dataset files, or None when there is none."""
  candidates = [os.environ.get("TFF_COURSE_DATA_DIR"),
                os.path.join(_REPO, "..", "shared", "data")]
  for candidate in candidates:
    if candidate and os.path.isdir(candidate):
      return os.path.abspath(candidate)
  return None


def requires_data(*parts):
  """Skips a test, saying why, unless data_dir/parts exists."""
  directory = shared_data_dir()
  if directory is None:
    return unittest.skip("no dataset files: set TFF_COURSE_DATA_DIR or put them in "
                         "../shared/data")
  if not os.path.exists(os.path.join(directory, *parts)):
    return unittest.skip(f"{os.path.join(directory, *parts)} is not there")
  return lambda test: test


def complete_cifar10_copy(directory):
  """A data directory laid out as a user's complete copy of CIFAR-10: the shared
  training batches (linked) and a 10,000-image `test_batch` in place of the shared
  1,000-image test file (its images ten times over); returns the directory."""
  import pickle

  import numpy as np

  source = os.path.join(shared_data_dir(), "cifar10", "cifar-10-batches-py")
  folder = os.path.join(directory, "cifar10", "cifar-10-batches-py")
  os.makedirs(folder)
  for name in ["batches.meta"] + [f"data_batch_{i}" for i in range(1, 6)]:
    os.symlink(os.path.join(source, name), os.path.join(folder, name))
  with open(os.path.join(source, "test_batch_first1000"), "rb") as stream:
    partial = pickle.load(stream, encoding="bytes")
  complete = {b"batch_label": b"testing batch 1 of 1",
              b"data": np.tile(np.asarray(partial[b"data"]), (10, 1)),
              b"labels": list(partial[b"labels"]) * 10}
  with open(os.path.join(folder, "test_batch"), "wb") as stream:
    pickle.dump(complete, stream, protocol=2)
  return directory


def has_complete_cifar10_test(data_dir):
  """Whether `data_dir` holds the official 10,000-image CIFAR-10 `test_batch`."""
  return os.path.isfile(os.path.join(data_dir, "cifar10", "cifar-10-batches-py", "test_batch"))


def small_preparations():
  """Course arms that fine-tune the pre-trained ResNet-20 fit their heads on 300 examples
  and calibrate on 32 (a context manager)."""
  from unittest import mock

  from tff_course.course import finetune_configs

  return mock.patch.multiple(finetune_configs, HEAD_EXAMPLES=300, CALIBRATION_EXAMPLES=32)
