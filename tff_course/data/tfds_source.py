"""Loading through tensorflow-datasets, which downloads and caches the data on first use.

Before a download the hosts are probed (see tfds_reach), prepared data from GCS is not
tried, and a failed load removes what it added to tensorflow-datasets' data directory.
"""

from __future__ import annotations

import os
from typing import Optional, Sequence

import numpy as np

from tff_course.data.dataset import Dataset, Modality, Split, check_labels
from tff_course.data.leftovers import removed_on_failure
from tff_course.data.tfds_reach import check_reachable
from tff_course.errors import DataError

_SHAKESPEARE_SPLITS = ("train", "validation", "test")


def load_tfds_images(tfds_name: str, name: str, label_names: Sequence[str], *,
                     label_key: str = "label", limit: Optional[int] = None,
                     tfds_dir: Optional[str] = None) -> Dataset:
  """Loads an image classification dataset's train and test splits as NumPy arrays.

  Args:
    tfds_name: the tensorflow-datasets name, e.g. "fashion_mnist".
    name: the toolkit's name for it.
    label_names: one name per class.
    label_key: the feature holding the label ("coarse_label" for CIFAR-100's 20).
    limit: read at most this many examples per split.
    tfds_dir: tensorflow-datasets' data directory (its default when None).
  """
  splits = {}
  for split in ("train", "test"):
    features = _load(tfds_name, _split_spec(split, limit), tfds_dir)
    labels = check_labels(features[label_key], len(label_names), f"{tfds_name}/{split}")
    splits[split] = Split(x=np.asarray(features["image"], dtype=np.uint8), y=labels)
  return Dataset(name=name, train=splits["train"], test=splits["test"],
                 label_names=tuple(label_names), modality=Modality.IMAGE,
                 source="tensorflow-datasets")


def load_tfds_text(tfds_name: str, *, tfds_dir: Optional[str] = None) -> str:
  """Returns the whole text of a tensorflow-datasets text corpus, its splits joined in order."""
  pieces = [_load(tfds_name, split, tfds_dir)["text"] for split in _SHAKESPEARE_SPLITS]
  return "".join(bytes(np.asarray(piece).reshape(-1)[0]).decode("utf-8") for piece in pieces)


def _split_spec(split: str, limit: Optional[int]) -> str:
  return split if limit is None else f"{split}[:{limit}]"


def feature_names(tfds_name: str, key: str, *, tfds_dir: Optional[str] = None) -> list:
  """The class names of feature `key` of a tensorflow-datasets dataset."""
  import tensorflow_datasets as tfds

  check_reachable(tfds_name, tfds_dir)
  return tfds.builder(tfds_name, data_dir=tfds_dir).info.features[key].names


def _load(tfds_name: str, split: str, tfds_dir: Optional[str]) -> dict:
  import tensorflow_datasets as tfds
  from tensorflow_datasets.core.utils import file_utils

  check_reachable(tfds_name, tfds_dir)
  config = tfds.download.DownloadConfig(try_download_gcs=False)
  root = file_utils.get_default_data_dir(given_data_dir=tfds_dir)
  try:
    with removed_on_failure(_written_by_tfds(root, tfds_name)):
      tensors = tfds.load(tfds_name, split=split, batch_size=-1, data_dir=tfds_dir,
                          download_and_prepare_kwargs={"download_config": config})
    return tfds.as_numpy(tensors)
  except Exception as error:  # tfds raises many types: network, checksum, disk, config.
    raise DataError(
        f"{tfds_name}: could not load split {split!r} through tensorflow-datasets "
        f"({type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}); "
        f"without network access, pass --data-dir (or set $TFF_COURSE_DATA_DIR) to a "
        f"directory holding the official files") from None


def _written_by_tfds(root: str, tfds_name: str) -> tuple:
  """The directories tensorflow-datasets writes into when it prepares `tfds_name`."""
  downloads = os.path.join(root, "downloads")
  return (root, downloads, os.path.join(downloads, "extracted"),
          os.path.join(root, tfds_name))
