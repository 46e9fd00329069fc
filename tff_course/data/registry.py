"""Datasets by name: official files from a data directory, tensorflow-datasets, or synthetic."""

from __future__ import annotations

import dataclasses
import inspect
import os
from typing import Any, Callable, Dict, Mapping, Optional, Tuple

from tff_course.data import (cifar, colour, leaf_shakespeare, mnist, shakespeare, synthetic,
                             tfds_source, toy)
from tff_course.data.dataset import Dataset
from tff_course.data.locate import find_folder, resolve_data_dir
from tff_course.errors import ConfigError
from tff_course.field_types import typed


@dataclasses.dataclass(frozen=True)
class DatasetInfo:
  """What the registry knows of a dataset.

  Attributes:
    name: the name to load it by.
    description: one line for `tff-course data list`.
    folders: where its official files may sit inside a data directory (empty for
      synthetic data, which needs no files).
    full_sizes: (train, test) sizes of the official release, to report partial files.
  """

  name: str
  description: str
  folders: Tuple[str, ...] = ()
  full_sizes: Optional[Tuple[int, int]] = None

  @property
  def synthetic(self) -> bool:
    return not self.folders


def _mnist(folder, tfds_dir, limit):
  if folder:
    return mnist.load_idx_dataset(folder, "mnist", mnist.MNIST_LABELS, limit=limit)
  return tfds_source.load_tfds_images("mnist", "mnist", mnist.MNIST_LABELS, limit=limit,
                                      tfds_dir=tfds_dir)


def _fashion_mnist(folder, tfds_dir, limit):
  labels = mnist.FASHION_MNIST_LABELS
  if folder:
    return mnist.load_idx_dataset(folder, "fashion_mnist", labels, limit=limit)
  return tfds_source.load_tfds_images("fashion_mnist", "fashion_mnist", labels,
                                      limit=limit, tfds_dir=tfds_dir)


def _colour(loader: Callable, name: str) -> Callable:
  def load(folder, tfds_dir, limit):
    return colour.colour_dataset(loader(folder, tfds_dir, limit), name)
  return load


def _cifar10(folder, tfds_dir, limit):
  if folder:
    return cifar.load_cifar10(folder, limit=limit)
  names = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
           "ship", "truck")
  return tfds_source.load_tfds_images("cifar10", "cifar10", names, limit=limit,
                                      tfds_dir=tfds_dir)


def _cifar100(folder, tfds_dir, limit, label_mode: str = "fine"):
  cifar.check_label_mode(label_mode)
  if folder:
    return cifar.load_cifar100(folder, label_mode=label_mode, limit=limit)
  key = "label" if label_mode == "fine" else "coarse_label"
  names = tfds_source.feature_names("cifar100", key, tfds_dir=tfds_dir)
  return tfds_source.load_tfds_images("cifar100", "cifar100", names, label_key=key,
                                      limit=limit, tfds_dir=tfds_dir)


def _shakespeare(folder, tfds_dir, limit, sequence_length: int = 80, stride: int = 1):
  if folder:
    path = os.path.join(folder, "input.txt")
    text = shakespeare.read_play(path)
  else:
    path, text = "tensorflow-datasets tiny_shakespeare", tfds_source.load_tfds_text(
        "tiny_shakespeare", tfds_dir=tfds_dir)
  return shakespeare.build_shakespeare(text, source=path, sequence_length=sequence_length,
                                       stride=stride, limit=limit)


def _leaf_shakespeare(folder, tfds_dir, limit, sampling: str = "niid", fraction: float = 1.0,
                      iid_users: float = 0.01, min_samples: int = 0, split: str = "sample",
                      train_fraction: float = 0.9, sampling_seed: int = 0,
                      split_seed: int = 0, test_windows: int = 0):
  del tfds_dir
  options = leaf_shakespeare.LeafOptions(
      sampling=sampling, fraction=fraction, iid_users=iid_users, min_samples=min_samples,
      split=split, train_fraction=train_fraction, sampling_seed=sampling_seed,
      split_seed=split_seed, test_windows=test_windows)
  path, text, note = leaf_shakespeare.read_text(folder or leaf_shakespeare.download_text())
  dataset = leaf_shakespeare.build_leaf_shakespeare(text, options, source=path, limit=limit)
  return dataclasses.replace(dataset, notes=tuple(dataset.notes) + ((note,) if note else ()))


def _synthetic(seed, alpha: float = 1.0, beta: float = 1.0, num_devices: int = 30):
  return synthetic.fedprox_synthetic(alpha, beta, num_devices=num_devices, seed=seed)


def _synthetic_iid(seed, num_devices: int = 30):
  return synthetic.fedprox_synthetic(iid=True, num_devices=num_devices, seed=seed)


def _toy(heterogeneous: bool):
  def generate(seed, num_clients: int = 10, samples_per_client: int = 200):
    return toy.toy_classification(heterogeneous=heterogeneous, num_clients=num_clients,
                                  samples_per_client=samples_per_client, seed=seed)
  return generate


_REGISTRY: Dict[str, Tuple[DatasetInfo, Callable]] = {
    info.name: (info, loader) for info, loader in (
        (DatasetInfo("mnist", "MNIST handwritten digits, 28x28x1, 10 classes",
                     ("mnist", "MNIST"), (60000, 10000)), _mnist),
        (DatasetInfo("fashion_mnist", "Fashion-MNIST clothing, 28x28x1, 10 classes",
                     ("fashion-mnist", "fashion_mnist"), (60000, 10000)), _fashion_mnist),
        (DatasetInfo("cifar10", "CIFAR-10 objects, 32x32x3, 10 classes",
                     ("cifar10/cifar-10-batches-py", "cifar-10-batches-py"),
                     (50000, 10000)), _cifar10),
        (DatasetInfo("cifar100", "CIFAR-100 objects, 32x32x3, 100 classes (or 20 coarse)",
                     ("cifar100/cifar-100-python", "cifar-100-python"),
                     (50000, 10000)), _cifar100),
        (DatasetInfo("mnist_rgb32", "MNIST padded to 32x32x3 (for CIFAR backbones), 10 "
                     "classes", ("mnist", "MNIST"), (60000, 10000)),
         _colour(_mnist, "mnist_rgb32")),
        (DatasetInfo("fashion_mnist_rgb32", "Fashion-MNIST padded to 32x32x3 (for CIFAR "
                     "backbones), 10 classes", ("fashion-mnist", "fashion_mnist"),
                     (60000, 10000)), _colour(_fashion_mnist, "fashion_mnist_rgb32")),
        (DatasetInfo("shakespeare", "Shakespeare next character, one client per role",
                     ("tinyshakespeare", "shakespeare")), _shakespeare),
        (DatasetInfo("leaf_shakespeare", "LEAF's Shakespeare from the 1994 Gutenberg text: "
                     "one client per character of a play, LEAF's sampling and split",
                     ("shakespeare-leaf", "leaf_shakespeare")), _leaf_shakespeare),
        (DatasetInfo("synthetic", "FedProx Synthetic(alpha, beta): 60 features, 10 "
                     "classes, 30 devices"), _synthetic),
        (DatasetInfo("synthetic_iid", "FedProx Synthetic-IID: one model for all 30 "
                     "devices"), _synthetic_iid),
        (DatasetInfo("toy_iid", "small IID blobs for the NumPy FedAvg exercise"),
         _toy(False)),
        (DatasetInfo("toy_hetero", "small heterogeneous blobs (label skew and covariate "
                     "shift) for the NumPy FedAvg exercise"), _toy(True)),
    )
}
_ALIASES = {"fashion-mnist": "fashion_mnist", "fmnist": "fashion_mnist",
            "cifar-10": "cifar10", "cifar-100": "cifar100",
            "tiny_shakespeare": "shakespeare", "leaf-shakespeare": "leaf_shakespeare",
            "synthetic-iid": "synthetic_iid"}


def dataset_infos() -> Tuple[DatasetInfo, ...]:
  """Every dataset the toolkit can load, in a stable order."""
  return tuple(info for info, _ in _REGISTRY.values())


def dataset_info(name: str) -> DatasetInfo:
  """The registry entry for `name` (aliases such as 'fashion-mnist' accepted)."""
  return _REGISTRY[_canonical(name)][0]


def dataset_options(name: str) -> Tuple[str, ...]:
  """The options `load_dataset` accepts for `name`, beyond data_dir, limit and seed."""
  return tuple(_options(_REGISTRY[_canonical(name)][1]))


def check_dataset_options(name: str, options: Mapping[str, Any]) -> Dict[str, Any]:
  """`options` with each value of its default's type (int, float or str).

  Raises:
    ConfigError: an unknown dataset, an option it does not take, or a value of the
      wrong type or not finite.
  """
  canonical = _canonical(name)
  defaults = _options(_REGISTRY[canonical][1])
  unknown = sorted(set(options) - set(defaults))
  if unknown:
    raise ConfigError(f"{canonical}: unknown option {unknown[0]!r}; it accepts "
                      f"{', '.join(defaults) or 'no options'}")
  return {key: typed(f"{canonical} option {key}", value, type(defaults[key]))
          for key, value in options.items()}


def load_dataset(name: str, *, data_dir: Optional[str] = None, limit: Optional[int] = None,
                 seed: int = 0, tfds_dir: Optional[str] = None, **options) -> Dataset:
  """Loads a dataset by name.

  Real datasets come from their official files in `data_dir` (else
  $TFF_COURSE_DATA_DIR), and otherwise through tensorflow-datasets, which downloads
  them. Synthetic datasets are generated from `seed` and need no files.

  Args:
    name: one of the names `tff-course data list` prints.
    data_dir: directory holding the official files (see the README for its layout).
    limit: load at most this many examples per split (real datasets only).
    seed: generator seed (synthetic datasets only).
    tfds_dir: tensorflow-datasets' cache directory, when downloading.
    **options: dataset options, e.g. alpha and beta for "synthetic", label_mode for
      "cifar100"; see `dataset_options`.

  Raises:
    ConfigError: unknown name, option or limit.
    DataError: files missing, truncated or corrupt, or the download failed.

  Example:
    >>> load_dataset("synthetic", alpha=0.5, beta=0.5).num_classes
    10
  """
  canonical = _canonical(name)
  info, loader = _REGISTRY[canonical]
  options = check_dataset_options(canonical, options)
  if limit is not None and limit < 1:
    raise ConfigError(f"limit: got {limit}, expected a positive number of examples")
  if info.synthetic:
    return loader(seed, **options)
  dataset = loader(dataset_folder(canonical, data_dir), tfds_dir, limit, **options)
  return _note_partial(dataset, info, limit)


def dataset_folder(name: str, data_dir: Optional[str] = None) -> Optional[str]:
  """The folder holding `name`'s official files in `data_dir` (else
  $TFF_COURSE_DATA_DIR); None when neither is set, for a download instead.

  Raises:
    ConfigError: unknown name.
    DataError: the data directory does not exist or does not hold the dataset.
  """
  canonical = _canonical(name)
  info = _REGISTRY[canonical][0]
  directory = None if info.synthetic else resolve_data_dir(data_dir)
  return find_folder(directory, canonical, info.folders) if directory else None


def _note_partial(dataset: Dataset, info: DatasetInfo, limit: Optional[int]) -> Dataset:
  if info.full_sizes is None or limit is not None:
    return dataset
  notes = [f"partial {split} split: {len(part):,} of {full:,} examples"
           for split, part, full in zip(("train", "test"), (dataset.train, dataset.test),
                                        info.full_sizes) if len(part) < full]
  return dataclasses.replace(dataset, notes=tuple(dataset.notes) + tuple(notes))


def _canonical(name: str) -> str:
  key = str(name).strip().lower()
  key = _ALIASES.get(key, key)
  if key not in _REGISTRY:
    raise ConfigError(f"dataset: got {name!r}, expected one of {', '.join(_REGISTRY)}")
  return key


def _options(loader: Callable) -> Dict[str, Any]:
  """The loader's options and their defaults, in its signature's order."""
  parameters = inspect.signature(loader).parameters.values()
  return {p.name: p.default for p in parameters if p.default is not inspect.Parameter.empty}
