import os
import pickle
import re

import numpy as np
import tensorflow as tf

from tests.shared_data import (complete_cifar10_copy, has_complete_cifar10_test,
                               requires_data, shared_data_dir)
from tff_course.data.cifar import load_cifar10, load_cifar100
from tff_course.data.dataset import Modality
from tff_course.errors import ConfigError, DataError

_CIFAR10_NAMES = (b"cat", b"dog", b"ship")
_BATCH = 4  # images per training batch in the small CIFAR-10 written by the tests


def _dump(path, content):
  """Pickles `content` as the official python2 files are pickled (protocol 2)."""
  with open(path, "wb") as stream:
    pickle.dump(content, stream, protocol=2)


def _images(rng, count):
  return rng.integers(0, 256, (count, 3072), dtype=np.uint8)


def _write_cifar10(folder, *, test_name="test_batch", test_count=3):
  """A small CIFAR-10 folder: five training batches of 4 images, 3 classes.

  Returns:
    (train data, train labels, test data, test labels) as written.
  """
  os.makedirs(folder, exist_ok=True)
  rng = np.random.default_rng(7)
  _dump(os.path.join(folder, "batches.meta"),
        {b"label_names": list(_CIFAR10_NAMES), b"num_cases_per_batch": _BATCH,
         b"num_vis": 3072})
  train_data, train_labels = [], []
  for index in range(1, 6):
    data = _images(rng, _BATCH)
    labels = [int(v) for v in rng.integers(0, 3, _BATCH)]
    _dump(os.path.join(folder, f"data_batch_{index}"),
          {b"batch_label": f"training batch {index} of 5".encode(), b"data": data,
           b"labels": labels})
    train_data.append(data)
    train_labels.extend(labels)
  test_data = _images(rng, test_count)
  test_labels = [int(v) for v in rng.integers(0, 3, test_count)]
  _dump(os.path.join(folder, test_name),
        {b"batch_label": b"testing batch 1 of 1", b"data": test_data, b"labels": test_labels})
  return np.concatenate(train_data), np.array(train_labels), test_data, np.array(test_labels)


def _hwc_reference(row):
  """Pure-Python decoding of one 3072-byte record: 1024 red, 1024 green, 1024 blue
  bytes, each plane row by row."""
  image = np.zeros((32, 32, 3), dtype=np.uint8)
  for channel in range(3):
    for r in range(32):
      for c in range(32):
        image[r, c, channel] = row[channel * 1024 + r * 32 + c]
  return image


class Cifar10Test(tf.test.TestCase):

  def setUp(self):
    super().setUp()
    self.dir = os.path.join(self.create_tempdir().full_path, "cifar-10-batches-py")
    self.train_x, self.train_y, self.test_x, self.test_y = _write_cifar10(self.dir)

  def _batch_path(self, name):
    return os.path.join(self.dir, name)

  def _rewrite_batch(self, name, **changes):
    """Rewrites batch `name` with entries replaced (value None removes the entry)."""
    with open(self._batch_path(name), "rb") as stream:
      content = pickle.load(stream, encoding="bytes")
    for key, value in changes.items():
      if value is None:
        del content[key.encode()]
      else:
        content[key.encode()] = value
    _dump(self._batch_path(name), content)

  def test_pixels_go_from_channel_major_rows_to_hwc(self):
    data = np.zeros((_BATCH, 3072), dtype=np.uint8)
    data[0, 0] = 11  # red, row 0, column 0
    data[0, 1024] = 22  # green, row 0, column 0
    data[0, 2048] = 33  # blue, row 0, column 0
    data[0, 5 * 32 + 7] = 44  # red, row 5, column 7
    data[0, 1024 + 31] = 55  # green, row 0, column 31
    data[0, 2048 + 31 * 32 + 30] = 66  # blue, row 31, column 30
    data[1, 1024 + 1 * 32 + 0] = 77  # second image: green, row 1, column 0
    self._rewrite_batch("data_batch_1", data=data)
    x = load_cifar10(self.dir).train.x
    self.assertEqual(x.shape, (5 * _BATCH, 32, 32, 3))
    self.assertEqual(x.dtype, np.uint8)
    self.assertEqual(x[0, 0, 0].tolist(), [11, 22, 33])
    self.assertEqual(x[0, 5, 7].tolist(), [44, 0, 0])
    self.assertEqual(x[0, 0, 31].tolist(), [0, 55, 0])
    self.assertEqual(x[0, 31, 30].tolist(), [0, 0, 66])
    self.assertEqual(x[1, 1, 0].tolist(), [0, 77, 0])
    self.assertEqual(x[1, 0, 1].tolist(), [0, 0, 0])
    self.assertEqual(int(x[:2].astype(np.int64).sum()), 11 + 22 + 33 + 44 + 55 + 66 + 77)

  def test_every_image_matches_a_pure_python_decoding(self):
    dataset = load_cifar10(self.dir)
    for index in (0, 5, 19):
      np.testing.assert_array_equal(dataset.train.x[index], _hwc_reference(self.train_x[index]))
    np.testing.assert_array_equal(dataset.test.x[2], _hwc_reference(self.test_x[2]))

  def test_labels_names_and_record(self):
    dataset = load_cifar10(self.dir)
    self.assertEqual(dataset.name, "cifar10")
    self.assertEqual(dataset.train.y.dtype, np.int64)
    self.assertEqual(dataset.train.y.tolist(), self.train_y.tolist())
    self.assertEqual(dataset.test.y.tolist(), self.test_y.tolist())
    self.assertEqual(tuple(dataset.label_names), ("cat", "dog", "ship"))
    self.assertIsInstance(dataset.label_names[0], str)
    self.assertEqual(dataset.num_classes, 3)
    self.assertIs(dataset.modality, Modality.IMAGE)
    self.assertEqual(dataset.source, self.dir)
    self.assertEqual(tuple(dataset.notes), ())
    self.assertIsNone(dataset.train.client_ids)
    self.assertEqual(len(dataset.test), 3)

  def test_limit_reads_the_first_examples_across_batches(self):
    dataset = load_cifar10(self.dir, limit=6)
    self.assertEqual(len(dataset.train), 6)
    # 4 from data_batch_1, then the first 2 of data_batch_2, in file order.
    np.testing.assert_array_equal(dataset.train.x[4], _hwc_reference(self.train_x[4]))
    self.assertEqual(dataset.train.y.tolist(), self.train_y[:6].tolist())
    self.assertEqual(len(dataset.test), 3)  # only 3 test images exist
    small = load_cifar10(self.dir, limit=2)
    self.assertEqual(small.train.y.tolist(), self.train_y[:2].tolist())
    self.assertEqual(small.test.y.tolist(), self.test_y[:2].tolist())
    np.testing.assert_array_equal(small.test.x[1], _hwc_reference(self.test_x[1]))

  def test_test_split_alone_needs_no_training_batch(self):
    for index in range(1, 6):
      os.remove(self._batch_path(f"data_batch_{index}"))
    dataset = load_cifar10(self.dir, splits=("test",))
    self.assertEqual(dataset.train.x.shape, (0, 32, 32, 3))
    self.assertEqual(dataset.train.y.shape, (0,))
    self.assertEqual(dataset.test.y.tolist(), self.test_y.tolist())
    np.testing.assert_array_equal(dataset.test.x[2], _hwc_reference(self.test_x[2]))
    self.assertEqual(tuple(dataset.label_names), ("cat", "dog", "ship"))

  def test_train_split_alone_needs_no_test_file(self):
    os.remove(self._batch_path("test_batch"))
    dataset = load_cifar10(self.dir, splits=["train"], limit=5)
    self.assertEqual(dataset.train.y.tolist(), self.train_y[:5].tolist())
    self.assertLen(dataset.test, 0)
    self.assertEqual(tuple(dataset.notes), ())

  def test_unknown_or_no_split(self):
    for splits in (("test", "validation"), (), "test"):
      with self.assertRaisesRegex(ConfigError, re.escape(
          f"splits: got {splits!r}, expected a non-empty sequence of 'train' and 'test'")):
        load_cifar10(self.dir, splits=splits)

  def test_partial_test_file_is_accepted_with_a_note(self):
    os.remove(self._batch_path("test_batch"))
    _, _, test_x, test_y = _write_cifar10(self.dir, test_name="test_batch_first1000",
                                          test_count=2)
    dataset = load_cifar10(self.dir)
    self.assertEqual(dataset.test.y.tolist(), test_y.tolist())
    np.testing.assert_array_equal(dataset.test.x[1], _hwc_reference(test_x[1]))
    self.assertLen(dataset.notes, 1)
    self.assertIn("test_batch_first1000", dataset.notes[0])
    self.assertIn("official test_batch", dataset.notes[0])

  def test_official_test_batch_is_preferred_to_a_partial_one(self):
    _dump(self._batch_path("test_batch_first1000"),
          {b"data": np.zeros((1, 3072), np.uint8), b"labels": [0]})
    dataset = load_cifar10(self.dir)
    self.assertEqual(dataset.test.y.tolist(), self.test_y.tolist())
    self.assertEqual(tuple(dataset.notes), ())

  def test_partial_test_file_in_a_folder_whose_name_has_brackets(self):
    # Folder names may contain glob metacharacters; the partial test file must still
    # be found.
    folder = os.path.join(self.create_tempdir().full_path, "run[1]", "cifar-10-batches-py")
    _write_cifar10(folder, test_name="test_batch_first1000")
    dataset = load_cifar10(folder)
    self.assertLen(dataset.test, 3)
    self.assertIn("test_batch_first1000", dataset.notes[0])

  def test_no_test_file_at_all(self):
    os.remove(self._batch_path("test_batch"))
    with self.assertRaisesRegex(DataError, r"test_batch: file not found"):
      load_cifar10(self.dir)

  def test_missing_training_batch(self):
    os.remove(self._batch_path("data_batch_4"))
    with self.assertRaisesRegex(DataError, r"data_batch_4: file not found"):
      load_cifar10(self.dir)

  def test_missing_meta(self):
    os.remove(self._batch_path("batches.meta"))
    with self.assertRaisesRegex(DataError, r"batches\.meta: file not found"):
      load_cifar10(self.dir)

  def test_meta_without_label_names(self):
    _dump(self._batch_path("batches.meta"), {b"num_vis": 3072})
    with self.assertRaisesRegex(DataError, r"batches\.meta: no 'label_names' entry"):
      load_cifar10(self.dir)

  def test_truncated_pickle(self):
    path = self._batch_path("data_batch_2")
    with open(path, "rb") as stream:
      content = stream.read()
    for size in (len(content) // 2, len(content) - 1, 20):
      with open(path, "wb") as stream:
        stream.write(content[:size])
      with self.assertRaisesRegex(DataError, r"data_batch_2: corrupt or truncated pickle"):
        load_cifar10(self.dir)

  def test_empty_file(self):
    open(self._batch_path("data_batch_1"), "wb").close()
    with self.assertRaisesRegex(DataError, r"data_batch_1: corrupt or truncated pickle"):
      load_cifar10(self.dir)

  def test_file_that_is_not_a_pickle(self):
    for content in (b"airplane\nautomobile\nbird\n", b'{"label_names": ["cat"]}',
                    b"\x1f\x8b\x08\x00\x00\x00\x00\x00"):  # text, JSON, a gzip header
      with open(self._batch_path("batches.meta"), "wb") as stream:
        stream.write(content)
      with self.assertRaisesRegex(DataError, r"batches\.meta: corrupt or truncated pickle"):
        load_cifar10(self.dir)

  def test_corrupt_length_field(self):
    # A pickle whose 8-byte length field is damaged: corrupt, so a DataError as well.
    with open(self._batch_path("data_batch_3"), "wb") as stream:
      stream.write(b"\x80\x04\x8d" + b"\xff" * 8)
    with self.assertRaisesRegex(DataError, r"data_batch_3: corrupt or truncated pickle"):
      load_cifar10(self.dir)

  def test_pickle_of_something_else_than_a_dict(self):
    _dump(self._batch_path("data_batch_1"), [np.zeros((1, 3072), np.uint8), [0]])
    with self.assertRaisesRegex(DataError, r"data_batch_1: expected a pickled dict, got list"):
      load_cifar10(self.dir)

  def test_missing_data_entry(self):
    self._rewrite_batch("data_batch_3", data=None)
    with self.assertRaisesRegex(DataError,
                                r"data_batch_3: no 'data' entry; found \['batch_label', "
                                r"'labels'\]"):
      load_cifar10(self.dir)

  def test_missing_labels_entry(self):
    self._rewrite_batch("test_batch", labels=None)
    with self.assertRaisesRegex(DataError, r"test_batch: no 'labels' entry"):
      load_cifar10(self.dir)

  def test_data_of_the_wrong_shape(self):
    for data, found in ((np.zeros((_BATCH, 3071), np.uint8), r"uint8 \(4, 3071\)"),
                        (np.zeros((_BATCH, 32, 32, 3), np.uint8), r"uint8 \(4, 32, 32, 3\)"),
                        (np.zeros(3072, np.uint8), r"uint8 \(3072,\)")):
      self._rewrite_batch("data_batch_5", data=data)
      with self.assertRaisesRegex(DataError,
                                  r"data_batch_5: 'data' must be uint8 of shape \(N, 3072\), "
                                  r"got " + found):
        load_cifar10(self.dir)

  def test_data_of_the_wrong_dtype(self):
    self._rewrite_batch("data_batch_2", data=np.zeros((_BATCH, 3072), np.float32))
    with self.assertRaisesRegex(DataError, r"data_batch_2: 'data' must be uint8 .* got "
                                r"float32 \(4, 3072\)"):
      load_cifar10(self.dir)

  def test_label_count_differs_from_image_count(self):
    self._rewrite_batch("data_batch_1", labels=[0, 1, 2])
    with self.assertRaisesRegex(DataError, r"data_batch_1: 4 images but 3 labels"):
      load_cifar10(self.dir)

  def test_labels_out_of_range(self):
    self._rewrite_batch("data_batch_2", labels=[0, 1, 3, 2])
    with self.assertRaisesRegex(DataError, r"data_batch_2: labels must lie in \[0, 3\), "
                                r"found values from 0 to 3"):
      load_cifar10(self.dir)
    self._rewrite_batch("data_batch_2", labels=[0, -1, 2, 2])
    with self.assertRaisesRegex(DataError, r"data_batch_2: labels must lie in \[0, 3\), "
                                r"found values from -1 to 2"):
      load_cifar10(self.dir)

  @requires_data("cifar10", "cifar-10-batches-py", "data_batch_1")
  def test_real_cifar10_slice(self):
    self.check_real_slice(shared_data_dir())

  @requires_data("cifar10", "cifar-10-batches-py", "test_batch_first1000")
  def test_real_cifar10_slice_with_a_complete_test_file(self):
    self.check_real_slice(complete_cifar10_copy(self.create_tempdir().full_path))

  def check_real_slice(self, data_dir):
    folder = os.path.join(data_dir, "cifar10", "cifar-10-batches-py")
    dataset = load_cifar10(folder, limit=500)
    self.assertEqual(dataset.train.x.shape, (500, 32, 32, 3))
    self.assertEqual(dataset.test.x.shape, (500, 32, 32, 3))
    self.assertEqual(dataset.train.x.dtype, np.uint8)
    self.assertEqual(dataset.label_names[:3], ("airplane", "automobile", "bird"))
    self.assertEqual(dataset.label_names[-1], "truck")
    # The first official training images: frog, truck, truck, deer, automobile, ...
    self.assertEqual(dataset.train.y[:10].tolist(), [6, 9, 9, 4, 1, 1, 2, 7, 8, 3])
    self.assertEqual(dataset.test.y[:10].tolist(), [3, 8, 8, 0, 6, 6, 1, 6, 3, 1])
    # The top-left pixel of the first training image is (59, 62, 63) in RGB; a wrong
    # channel order or a transposed image would put other values there.
    self.assertEqual(dataset.train.x[0, 0, 0].tolist(), [59, 62, 63])
    # Natural images: red, green, blue means near CIFAR-10's (125, 123, 114).
    means = dataset.train.x.reshape(-1, 3).mean(axis=0)
    self.assertAllClose(means, [125.3, 123.0, 113.9], atol=6.0)
    self.assertEqual(any("test_batch_first1000" in note for note in dataset.notes),
                     not has_complete_cifar10_test(data_dir))


class Cifar100Test(tf.test.TestCase):

  def setUp(self):
    super().setUp()
    self.dir = os.path.join(self.create_tempdir().full_path, "cifar-100-python")
    os.makedirs(self.dir)
    rng = np.random.default_rng(3)
    _dump(os.path.join(self.dir, "meta"),
          {b"fine_label_names": [f"fine{i}".encode() for i in range(100)],
           b"coarse_label_names": [f"coarse{i}".encode() for i in range(20)]})
    self.train_x = _images(rng, 5)
    self.fine = [0, 99, 42, 7, 13]
    self.coarse = [0, 19, 3, 4, 5]
    _dump(os.path.join(self.dir, "train"),
          {b"filenames": [b"a.png"] * 5, b"batch_label": b"training batch 1 of 1",
           b"fine_labels": self.fine, b"coarse_labels": self.coarse, b"data": self.train_x})
    self.test_x = _images(rng, 2)
    _dump(os.path.join(self.dir, "test"),
          {b"batch_label": b"testing batch 1 of 1", b"fine_labels": [98, 1],
           b"coarse_labels": [18, 1], b"data": self.test_x})

  def test_fine_labels(self):
    dataset = load_cifar100(self.dir)
    self.assertEqual(dataset.name, "cifar100")
    self.assertEqual(dataset.num_classes, 100)
    self.assertEqual(dataset.label_names[99], "fine99")
    self.assertEqual(dataset.train.y.tolist(), self.fine)
    self.assertEqual(dataset.test.y.tolist(), [98, 1])
    np.testing.assert_array_equal(dataset.train.x[3], _hwc_reference(self.train_x[3]))
    np.testing.assert_array_equal(dataset.test.x[1], _hwc_reference(self.test_x[1]))
    self.assertEqual(tuple(dataset.notes), ())

  def test_coarse_labels(self):
    dataset = load_cifar100(self.dir, label_mode="coarse")
    self.assertEqual(dataset.num_classes, 20)
    self.assertEqual(dataset.label_names[0], "coarse0")
    self.assertEqual(dataset.label_names[19], "coarse19")
    self.assertEqual(dataset.train.y.tolist(), self.coarse)
    self.assertEqual(dataset.test.y.tolist(), [18, 1])

  def test_limit(self):
    dataset = load_cifar100(self.dir, limit=3)
    self.assertEqual(dataset.train.y.tolist(), self.fine[:3])
    self.assertEqual(dataset.test.y.tolist(), [98, 1])
    self.assertEqual(dataset.train.x.shape, (3, 32, 32, 3))

  def test_bad_label_mode(self):
    with self.assertRaisesRegex(DataError, r"label_mode: got 'medium', expected 'fine' or "
                                r"'coarse'"):
      load_cifar100(self.dir, label_mode="medium")

  def test_partial_test_file_is_accepted_with_a_note(self):
    os.rename(os.path.join(self.dir, "test"), os.path.join(self.dir, "test_first2"))
    dataset = load_cifar100(self.dir)
    self.assertEqual(dataset.test.y.tolist(), [98, 1])
    self.assertLen(dataset.notes, 1)
    self.assertIn("test_first2", dataset.notes[0])

  def test_missing_train_file(self):
    os.remove(os.path.join(self.dir, "train"))
    with self.assertRaisesRegex(DataError, r"cifar-100-python.train: file not found"):
      load_cifar100(self.dir)

  def test_missing_coarse_labels_entry(self):
    _dump(os.path.join(self.dir, "train"), {b"data": self.train_x, b"fine_labels": self.fine})
    self.assertEqual(load_cifar100(self.dir).train.y.tolist(), self.fine)
    with self.assertRaisesRegex(DataError, r"train: no 'coarse_labels' entry"):
      load_cifar100(self.dir, label_mode="coarse")

  def test_coarse_label_out_of_range(self):
    _dump(os.path.join(self.dir, "test"),
          {b"data": self.test_x, b"fine_labels": [1, 2], b"coarse_labels": [20, 1]})
    self.assertEqual(load_cifar100(self.dir).test.y.tolist(), [1, 2])
    with self.assertRaisesRegex(DataError, r"test: labels must lie in \[0, 20\)"):
      load_cifar100(self.dir, label_mode="coarse")

  def test_meta_without_the_names_of_the_mode(self):
    _dump(os.path.join(self.dir, "meta"),
          {b"fine_label_names": [f"fine{i}".encode() for i in range(100)]})
    with self.assertRaisesRegex(DataError, r"meta: no 'coarse_label_names' entry"):
      load_cifar100(self.dir, label_mode="coarse")


if __name__ == "__main__":
  tf.test.main()
