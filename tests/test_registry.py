import contextlib
import os
import re
from unittest import mock

import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds

from tests.shared_data import (complete_cifar10_copy, has_complete_cifar10_test,
                               requires_data, shared_data_dir)
from tff_course.data import (DATA_DIR_ENV, Modality, dataset_info, dataset_infos,
                             dataset_options, load_dataset)
from tff_course.data.idx import write_idx
from tff_course.data.mnist import FASHION_MNIST_LABELS, MNIST_LABELS
from tff_course.data.pipeline import make_tf_dataset
from tff_course.data.registry import dataset_folder
from tff_course.errors import ConfigError, DataError


@contextlib.contextmanager
def _without_data_dir_env():
  with mock.patch.dict(os.environ):
    os.environ.pop(DATA_DIR_ENV, None)
    yield


def _write_tiny_mnist(folder, train_labels, test_labels, seed=0):
  """MNIST's four IDX files (training gzip-compressed, test plain) with few images."""
  os.makedirs(folder, exist_ok=True)
  rng = np.random.default_rng(seed)
  arrays = {}
  for split, labels, suffix in (("train", train_labels, ".gz"), ("t10k", test_labels, "")):
    images = rng.integers(0, 256, (len(labels), 28, 28), dtype=np.uint8)
    write_idx(os.path.join(folder, f"{split}-images-idx3-ubyte{suffix}"), images)
    write_idx(os.path.join(folder, f"{split}-labels-idx1-ubyte{suffix}"),
              np.asarray(labels, dtype=np.uint8))
    arrays[split] = images
  return arrays["train"], arrays["t10k"]


def _write_tfds_metadata(tfds_dir, name, num_examples):
  """Writes the metadata tensorflow-datasets keeps for `name`, with split sizes.

  tfds.testing.mock_data then serves whole splits (batch_size=-1) offline. Without
  split sizes, tfds batches by sys.maxsize and TensorFlow aborts the whole process.
  """
  builder = tfds.builder(name, data_dir=tfds_dir)
  builder.info.set_splits(tfds.core.SplitDict([
      tfds.core.SplitInfo(name=split, shard_lengths=[num_examples], num_bytes=0)
      for split in ("train", "test")]))
  os.makedirs(builder.data_dir)
  builder.info.write_to_directory(builder.data_dir)


class LoadFromDataDirTest(tf.test.TestCase):

  def setUp(self):
    super().setUp()
    # Everything here reads files; should a loader fall back to downloading, fail at once
    # instead of waiting for the network.
    self.enter_context(mock.patch.object(
        tfds, "load", side_effect=ConnectionError("tensorflow-datasets must not be used")))
    self.data_dir = self.create_tempdir().full_path
    self.train_images, self.test_images = _write_tiny_mnist(
        os.path.join(self.data_dir, "mnist"), [3, 1, 4], [1, 5])

  def test_tiny_mnist(self):
    dataset = load_dataset("mnist", data_dir=self.data_dir)
    self.assertEqual(dataset.source, os.path.join(self.data_dir, "mnist"))
    self.assertEqual(dataset.train.x.shape, (3, 28, 28, 1))
    np.testing.assert_array_equal(dataset.train.x[..., 0], self.train_images)
    np.testing.assert_array_equal(dataset.test.x[..., 0], self.test_images)
    self.assertEqual(dataset.train.y.tolist(), [3, 1, 4])
    self.assertEqual(dataset.test.y.tolist(), [1, 5])
    self.assertEqual(tuple(dataset.notes), ("partial train split: 3 of 60,000 examples",
                                            "partial test split: 2 of 10,000 examples"))
    limited = load_dataset("mnist", data_dir=self.data_dir, limit=2)
    self.assertEqual(limited.train.y.tolist(), [3, 1])
    self.assertEqual(tuple(limited.notes), ())  # a limit asked for is no partial file

  def test_environment_variable_is_used_without_data_dir(self):
    with mock.patch.dict(os.environ, {DATA_DIR_ENV: self.data_dir}):
      dataset = load_dataset("mnist")
    self.assertEqual(dataset.source, os.path.join(self.data_dir, "mnist"))
    self.assertEqual(dataset.train.y.tolist(), [3, 1, 4])
    np.testing.assert_array_equal(dataset.test.x[..., 0], self.test_images)

  def test_data_dir_wins_over_the_environment_variable(self):
    other = self.create_tempdir().full_path
    _write_tiny_mnist(os.path.join(other, "MNIST"), [9, 9], [8], seed=1)
    with mock.patch.dict(os.environ, {DATA_DIR_ENV: self.data_dir}):
      dataset = load_dataset("mnist", data_dir=other)
    self.assertEqual(dataset.source, os.path.join(other, "MNIST"))
    self.assertEqual(dataset.train.y.tolist(), [9, 9])

  def test_environment_variable_naming_no_directory(self):
    missing = os.path.join(self.data_dir, "no-such-dir")
    with mock.patch.dict(os.environ, {DATA_DIR_ENV: missing}):
      with self.assertRaisesRegex(DataError, re.escape(f"${DATA_DIR_ENV}: {missing!r} is not "
                                                       f"a directory")):
        load_dataset("mnist")

  def test_data_dir_that_does_not_exist(self):
    missing = os.path.join(self.data_dir, "no-such-dir")
    with self.assertRaisesRegex(DataError,
                                re.escape(f"--data-dir: {missing!r} is not a directory")):
      load_dataset("mnist", data_dir=missing)

  def test_data_dir_without_the_dataset_lists_the_places_looked_at(self):
    d = self.data_dir
    with self.assertRaisesRegex(DataError, re.escape(
        f"fashion_mnist: no data found in {d} (looked for {d}/fashion-mnist, "
        f"{d}/fashion_mnist)")):
      load_dataset("fashion_mnist", data_dir=d)
    with self.assertRaisesRegex(DataError, re.escape(
        f"cifar10: no data found in {d} (looked for {d}/cifar10/cifar-10-batches-py, "
        f"{d}/cifar-10-batches-py)")):
      load_dataset("cifar10", data_dir=d)
    with mock.patch.dict(os.environ, {DATA_DIR_ENV: d}):
      with self.assertRaisesRegex(DataError, re.escape(
          f"fashion_mnist: no data found in {d} (looked for {d}/fashion-mnist")):
        load_dataset("fashion_mnist")

  def test_dataset_folder(self):
    folder = os.path.join(self.data_dir, "mnist")
    self.assertEqual(dataset_folder("MNIST", self.data_dir), folder)
    with mock.patch.dict(os.environ, {DATA_DIR_ENV: self.data_dir}):
      self.assertEqual(dataset_folder("mnist"), folder)
      self.assertIsNone(dataset_folder("synthetic", "/no/such/dir"))
    with _without_data_dir_env():
      self.assertIsNone(dataset_folder("mnist"))
    with self.assertRaisesRegex(DataError, "cifar10: no data found in"):
      dataset_folder("cifar-10", self.data_dir)

  def test_fashion_mnist_alias_and_folder(self):
    _write_tiny_mnist(os.path.join(self.data_dir, "fashion_mnist"), [9, 0], [2])
    for name in ("fashion-mnist", "fmnist", " Fashion_MNIST "):
      dataset = load_dataset(name, data_dir=self.data_dir)
      self.assertEqual(dataset.name, "fashion_mnist")
      self.assertEqual(dataset.label_names[dataset.train.y[0]], "Ankle boot")
      self.assertEqual(dataset.source, os.path.join(self.data_dir, "fashion_mnist"))

  def test_label_outside_the_classes_is_a_data_error(self):
    _write_tiny_mnist(os.path.join(self.data_dir, "mnist"), [3, 10, 4], [1, 5])
    with self.assertRaisesRegex(DataError, r"train-labels-idx1-ubyte\.gz: labels must lie in "
                                r"\[0, 10\)"):
      load_dataset("mnist", data_dir=self.data_dir)


class RegistryArgumentsTest(tf.test.TestCase):

  def test_unknown_dataset_name(self):
    with self.assertRaisesRegex(ConfigError, r"dataset: got 'imagenet', expected one of mnist, "
                                r"fashion_mnist, cifar10"):
      load_dataset("imagenet")
    with self.assertRaisesRegex(ConfigError, r"dataset: got 'mnist2'"):
      dataset_options("mnist2")
    with self.assertRaisesRegex(ConfigError, r"dataset: got 'emnist'"):
      dataset_info("emnist")

  def test_unknown_option(self):
    with self.assertRaisesRegex(ConfigError,
                                r"mnist: unknown option 'alpha'; it accepts no options"):
      load_dataset("mnist", alpha=0.5)
    with self.assertRaisesRegex(ConfigError, r"synthetic: unknown option 'gamma'; it accepts "
                                r"alpha, beta, num_devices"):
      load_dataset("synthetic", alpha=0.5, gamma=2)
    with self.assertRaisesRegex(ConfigError, r"cifar100: unknown option 'label_modes'; it "
                                r"accepts label_mode"):
      load_dataset("cifar-100", label_modes="fine")

  def test_option_values_of_the_wrong_type(self):
    for options, message in (
        ({"alpha": "abc"}, r"^synthetic option alpha: got 'abc', expected a number$"),
        ({"alpha": float("nan")}, r"^synthetic option alpha: got nan, expected a finite"),
        ({"num_devices": 2.5}, r"^synthetic option num_devices: got 2.5, expected a whole"),
        ({"num_devices": True}, r"^synthetic option num_devices: got True, expected a whole")):
      with self.subTest(options=options):
        with self.assertRaisesRegex(ConfigError, message):
          load_dataset("synthetic", **options)
    self.assertLen(np.unique(load_dataset("synthetic", num_devices=4.0).train.client_ids), 4)

  def test_limit_below_one(self):
    empty = self.create_tempdir().full_path
    for limit in (0, -5):
      with self.assertRaisesRegex(ConfigError, rf"limit: got {limit}, expected a positive "
                                  r"number of examples"):
        load_dataset("mnist", data_dir=empty, limit=limit)

  def test_dataset_options(self):
    self.assertEqual(dataset_options("mnist"), ())
    self.assertEqual(dataset_options("cifar10"), ())
    self.assertEqual(dataset_options("CIFAR-100"), ("label_mode",))
    self.assertEqual(dataset_options("synthetic"), ("alpha", "beta", "num_devices"))
    self.assertEqual(dataset_options("synthetic-iid"), ("num_devices",))
    self.assertEqual(dataset_options("shakespeare"), ("sequence_length", "stride"))
    self.assertEqual(dataset_options("toy_hetero"), ("num_clients", "samples_per_client"))

  @requires_data("mnist")
  def test_rgb32_datasets_are_the_grey_images_padded_in_colour(self):
    grey = load_dataset("mnist", data_dir=shared_data_dir(), limit=20)
    colour = load_dataset("mnist_rgb32", data_dir=shared_data_dir(), limit=20)
    self.assertEqual(colour.name, "mnist_rgb32")
    self.assertEqual(colour.train.x.shape, (20, 32, 32, 3))
    np.testing.assert_array_equal(colour.train.x[:, 2:30, 2:30, 2], grey.train.x[..., 0])
    np.testing.assert_array_equal(colour.test.y, grey.test.y)

  def test_dataset_infos(self):
    names = [info.name for info in dataset_infos()]
    self.assertEqual(names, ["mnist", "fashion_mnist", "cifar10", "cifar100", "mnist_rgb32",
                             "fashion_mnist_rgb32", "shakespeare", "leaf_shakespeare",
                             "synthetic", "synthetic_iid", "toy_iid", "toy_hetero"])
    self.assertEqual(dataset_info("leaf-shakespeare").folders,
                     ("shakespeare-leaf", "leaf_shakespeare"))
    self.assertEqual(dataset_info("fmnist").name, "fashion_mnist")
    self.assertEqual(dataset_info("tiny_shakespeare").folders, ("tinyshakespeare", "shakespeare"))
    self.assertFalse(dataset_info("cifar-10").synthetic)
    self.assertTrue(dataset_info("toy_iid").synthetic)
    self.assertEqual(dataset_info("mnist").full_sizes, (60000, 10000))


class TensorflowDatasetsTest(tf.test.TestCase):
  """The download path, with tensorflow-datasets mocked: nothing leaves the machine."""

  def setUp(self):
    super().setUp()
    self.tfds_dir = self.create_tempdir().full_path
    # tensorflow-datasets' default data directory, where the metadata below makes a
    # dataset count as prepared (no network probe).
    self.enter_context(mock.patch.dict(os.environ, {"TFDS_DATA_DIR": self.tfds_dir}))

  def test_mnist_from_mocked_tfds(self):
    _write_tfds_metadata(self.tfds_dir, "mnist", 7)
    with _without_data_dir_env(), tfds.testing.mock_data(num_examples=7,
                                                         data_dir=self.tfds_dir):
      dataset = load_dataset("mnist")
    self.assertEqual(dataset.source, "tensorflow-datasets")
    self.assertEqual(dataset.name, "mnist")
    self.assertIs(dataset.modality, Modality.IMAGE)
    for split in (dataset.train, dataset.test):
      self.assertEqual(split.x.shape, (7, 28, 28, 1))
      self.assertEqual(split.x.dtype, np.uint8)
      self.assertEqual(split.y.shape, (7,))
      self.assertEqual(split.y.dtype, np.int64)
      self.assertBetween(int(split.y.max()), 0, 9)
      self.assertBetween(int(split.y.min()), 0, 9)
    self.assertEqual(tuple(dataset.label_names), MNIST_LABELS)
    self.assertEqual(tuple(dataset.notes), ("partial train split: 7 of 60,000 examples",
                                            "partial test split: 7 of 10,000 examples"))

  def test_limit_and_tfds_dir_reach_tfds(self):
    _write_tfds_metadata(self.tfds_dir, "fashion_mnist", 6)
    with _without_data_dir_env(), tfds.testing.mock_data(num_examples=6,
                                                         data_dir=self.tfds_dir):
      with mock.patch.object(tfds, "load", wraps=tfds.load) as load:
        dataset = load_dataset("fashion-mnist", limit=5, tfds_dir=self.tfds_dir)
    self.assertEqual([call.args[0] for call in load.call_args_list],
                     ["fashion_mnist", "fashion_mnist"])
    self.assertEqual([call.kwargs["split"] for call in load.call_args_list],
                     ["train[:5]", "test[:5]"])
    self.assertEqual({call.kwargs["batch_size"] for call in load.call_args_list}, {-1})
    self.assertEqual({call.kwargs["data_dir"] for call in load.call_args_list},
                     {self.tfds_dir})
    self.assertEqual(dataset.train.x.shape[1:], (28, 28, 1))
    self.assertEqual(tuple(dataset.label_names), FASHION_MNIST_LABELS)

  def test_cifar100_label_modes_from_mocked_tfds(self):
    _write_tfds_metadata(self.tfds_dir, "cifar100", 4)
    with _without_data_dir_env(), tfds.testing.mock_data(num_examples=4,
                                                         data_dir=self.tfds_dir):
      fine = load_dataset("cifar100")
      coarse = load_dataset("cifar100", label_mode="coarse")
    self.assertEqual(fine.train.x.shape, (4, 32, 32, 3))
    self.assertEqual(fine.num_classes, 100)
    self.assertEqual(coarse.num_classes, 20)
    self.assertLess(int(coarse.train.y.max()), 20)

  def test_cifar100_bad_label_mode_without_data_dir(self):
    # As with a data directory, an unknown label_mode must be refused, not read as
    # "coarse".
    _write_tfds_metadata(self.tfds_dir, "cifar100", 4)
    with _without_data_dir_env(), tfds.testing.mock_data(num_examples=4,
                                                         data_dir=self.tfds_dir):
      with self.assertRaisesRegex((ConfigError, DataError), r"label_mode: got 'medium'"):
        load_dataset("cifar100", label_mode="medium")

  def test_tfds_failure_is_a_data_error(self):
    _write_tfds_metadata(self.tfds_dir, "mnist", 3)
    _write_tfds_metadata(self.tfds_dir, "cifar10", 3)
    failure = ConnectionError("Network is unreachable\nsecond line of the report")
    with _without_data_dir_env(), mock.patch.object(tfds, "load", side_effect=failure):
      with self.assertRaisesRegex(DataError, re.escape(
          "mnist: could not load split 'train[:3]' through tensorflow-datasets "
          "(ConnectionError: Network is unreachable); without network access, pass "
          "--data-dir (or set $TFF_COURSE_DATA_DIR)")):
        load_dataset("mnist", limit=3)
    with _without_data_dir_env(), mock.patch.object(tfds, "load", side_effect=OSError()):
      with self.assertRaisesRegex(DataError, r"cifar10: could not load split 'train' "
                                  r"through tensorflow-datasets \(OSError: \)"):
        load_dataset("cifar-10")


class RealDataTest(tf.test.TestCase):

  @requires_data("mnist")
  def test_mnist(self):
    dataset = load_dataset("mnist", data_dir=shared_data_dir(), limit=100)
    self.assertEqual(dataset.train.x.shape, (100, 28, 28, 1))
    self.assertEqual(dataset.test.x.shape, (100, 28, 28, 1))
    self.assertEqual(dataset.train.x.dtype, np.uint8)
    self.assertEqual(dataset.train.y.dtype, np.int64)
    self.assertEqual(dataset.train.y[:10].tolist(), [5, 0, 4, 1, 9, 2, 1, 3, 1, 4])
    self.assertEqual(dataset.test.y[:10].tolist(), [7, 2, 1, 0, 4, 1, 4, 9, 5, 9])
    self.assertEqual(tuple(dataset.label_names), tuple(str(d) for d in range(10)))
    self.assertEqual(tuple(dataset.notes), ())
    self.assertEqual(int(dataset.train.x.max()), 255)
    self.assertEqual(int(dataset.train.x[:, 0, 0].max()), 0)  # digits leave the corner blank

  @requires_data("fashion-mnist")
  def test_fashion_mnist(self):
    dataset = load_dataset("fashion-mnist", data_dir=shared_data_dir(), limit=100)
    self.assertEqual(dataset.name, "fashion_mnist")
    self.assertEqual(dataset.train.x.shape, (100, 28, 28, 1))
    self.assertEqual(dataset.train.y.dtype, np.int64)
    self.assertEqual(dataset.train.y[:10].tolist(), [9, 0, 0, 3, 0, 2, 7, 2, 5, 5])
    self.assertEqual(dataset.test.y[:10].tolist(), [9, 2, 1, 1, 6, 1, 4, 6, 5, 7])
    self.assertEqual(dataset.label_names[0], "T-shirt/top")
    self.assertEqual(dataset.label_names[9], "Ankle boot")

  @requires_data("cifar10", "cifar-10-batches-py")
  def test_cifar10_without_limit_notes_a_partial_test_split(self):
    self.check_cifar10(shared_data_dir())

  @requires_data("cifar10", "cifar-10-batches-py", "test_batch_first1000")
  def test_cifar10_with_a_complete_test_file(self):
    self.check_cifar10(complete_cifar10_copy(self.create_tempdir().full_path))

  def check_cifar10(self, data_dir):
    """The official sizes and no notes with `test_batch`, the shared 1,000-image
    file's sizes and notes without it."""
    dataset = load_dataset("cifar10", data_dir=data_dir)
    self.assertEqual(dataset.train.x.shape, (50000, 32, 32, 3))
    self.assertEqual(np.bincount(dataset.train.y).tolist(), [5000] * 10)
    if has_complete_cifar10_test(data_dir):
      self.assertEqual(dataset.test.x.shape, (10000, 32, 32, 3))
      self.assertEqual(tuple(dataset.notes), ())
      self.assertNotIn("note:", dataset.describe())
      return
    self.assertEqual(dataset.test.x.shape, (1000, 32, 32, 3))
    self.assertEqual(tuple(dataset.notes), (
        "test split read from test_batch_first1000 in place of the official test_batch",
        "partial test split: 1,000 of 10,000 examples"))
    self.assertIn("note: partial test split", dataset.describe())


class MakeTfDatasetTest(tf.test.TestCase):

  def _collect(self, dataset):
    xs, ys = [], []
    for x, y in dataset:
      xs.append(x.numpy())
      ys.append(y.numpy())
    return xs, ys

  def test_images_are_scaled_to_unit_floats(self):
    x = np.random.default_rng(0).integers(0, 256, (5, 3, 3, 1), dtype=np.uint8)
    x[0, 0, 0, 0], x[1, 0, 0, 0] = 255, 0
    y = np.array([4, 3, 2, 1, 0], dtype=np.int64)
    xs, ys = self._collect(make_tf_dataset(x, y, Modality.IMAGE, batch_size=2))
    self.assertEqual([len(batch) for batch in ys], [2, 2, 1])
    self.assertEqual(xs[0].dtype, np.float32)
    self.assertEqual(ys[0].dtype, np.int32)
    self.assertAllClose(np.concatenate(xs), x.astype(np.float32) / 255.0, rtol=1e-6, atol=0)
    self.assertEqual(np.concatenate(xs)[0, 0, 0, 0], 1.0)
    self.assertEqual(np.concatenate(ys).tolist(), y.tolist())

  def test_features_and_text(self):
    features = np.array([[0.5, -2.25], [1e3, 3.0], [7.0, 0.125]], dtype=np.float64)
    xs, ys = self._collect(make_tf_dataset(features, np.array([1, 0, 1]), Modality.FEATURES))
    self.assertLen(xs, 1)
    self.assertEqual(xs[0].dtype, np.float32)
    self.assertAllEqual(xs[0], features.astype(np.float32))  # not scaled
    codes = np.array([[0, 79, 80], [53, 54, 1]], dtype=np.uint8)
    xs, ys = self._collect(make_tf_dataset(codes, np.array([25, 80]), Modality.TEXT,
                                           batch_size=1))
    self.assertEqual(xs[0].dtype, np.int32)
    self.assertAllEqual(np.concatenate(xs), codes.astype(np.int32))
    self.assertEqual(np.concatenate(ys).tolist(), [25, 80])

  def test_batch_size_none_is_one_full_batch(self):
    x = np.arange(37 * 2, dtype=np.float32).reshape(37, 2)
    xs, ys = self._collect(make_tf_dataset(x, np.arange(37), Modality.FEATURES,
                                           batch_size=None))
    self.assertLen(xs, 1)
    self.assertEqual(xs[0].shape, (37, 2))
    self.assertAllEqual(xs[0], x)

  def test_shuffle_with_a_seed_is_a_permutation(self):
    n = 50
    x = np.stack([np.arange(n), 2 * np.arange(n)], axis=1).astype(np.float32)
    y = np.arange(n)
    dataset = make_tf_dataset(x, y, Modality.FEATURES, batch_size=8, shuffle_seed=3)
    first_xs, first_ys = self._collect(dataset)
    second_xs, second_ys = self._collect(dataset)
    for xs, ys in ((first_xs, first_ys), (second_xs, second_ys)):
      order = np.concatenate(ys)
      self.assertEqual(sorted(order.tolist()), list(range(n)))
      self.assertAllEqual(np.concatenate(xs), x[order])  # examples keep their labels
    first, second = np.concatenate(first_ys), np.concatenate(second_ys)
    self.assertNotEqual(first.tolist(), list(range(n)))
    self.assertNotEqual(first.tolist(), second.tolist())  # reshuffled every pass
    again = np.concatenate(self._collect(
        make_tf_dataset(x, y, Modality.FEATURES, batch_size=8, shuffle_seed=3))[1])
    self.assertEqual(again.tolist(), first.tolist())
    other = np.concatenate(self._collect(
        make_tf_dataset(x, y, Modality.FEATURES, batch_size=8, shuffle_seed=4))[1])
    self.assertNotEqual(other.tolist(), first.tolist())

  def test_no_seed_keeps_the_order(self):
    _, ys = self._collect(make_tf_dataset(np.zeros((20, 1)), np.arange(20)[::-1],
                                          Modality.FEATURES, batch_size=6))
    self.assertEqual(np.concatenate(ys).tolist(), list(range(20))[::-1])


if __name__ == "__main__":
  tf.test.main()
