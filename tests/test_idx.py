import gzip
import os

import numpy as np
import tensorflow as tf

from tests.shared_data import requires_data, shared_data_dir
from tff_course.data.idx import read_idx, write_idx
from tff_course.errors import DataError


class ReadIdxTest(tf.test.TestCase):

  def setUp(self):
    super().setUp()
    self.images = np.arange(5 * 4 * 3, dtype=np.uint8).reshape(5, 4, 3)
    self.dir = self.create_tempdir().full_path

  def test_round_trip_gzip_and_plain(self):
    for name in ("images.gz", "images"):
      path = os.path.join(self.dir, name)
      write_idx(path, self.images)
      np.testing.assert_array_equal(read_idx(path, expected_ndim=3), self.images)

  def test_limit_reads_first_records(self):
    path = os.path.join(self.dir, "images.gz")
    write_idx(path, self.images)
    np.testing.assert_array_equal(read_idx(path, expected_ndim=3, limit=2), self.images[:2])

  def test_truncated_payload_is_an_error_naming_the_file(self):
    path = os.path.join(self.dir, "images")
    write_idx(path, self.images)
    with open(path, "r+b") as stream:
      stream.truncate(os.path.getsize(path) - 7)
    with self.assertRaisesRegex(DataError, r"images: truncated: the header promises 5"):
      read_idx(path, expected_ndim=3)

  def test_truncated_gzip_stream_is_an_error(self):
    path = os.path.join(self.dir, "images.gz")
    write_idx(path, np.random.default_rng(0).integers(0, 255, (200, 28, 28), np.uint8))
    with open(path, "rb") as stream:
      head = stream.read(os.path.getsize(path) // 2)
    with open(path, "wb") as stream:
      stream.write(head)
    with self.assertRaisesRegex(DataError, r"images\.gz: corrupt or truncated"):
      read_idx(path, expected_ndim=3)

  def test_corrupt_gzip_is_an_error(self):
    path = os.path.join(self.dir, "labels.gz")
    with open(path, "wb") as stream:
      stream.write(b"\x1f\x8b\x08\x00garbage that is not deflate data")
    with self.assertRaisesRegex(DataError, r"labels\.gz: corrupt or truncated"):
      read_idx(path, expected_ndim=1)

  def test_wrong_magic_and_wrong_rank(self):
    path = os.path.join(self.dir, "labels")
    with open(path, "wb") as stream:
      stream.write(b"\x00\x00\x0d\x01" + b"\x00" * 12)
    with self.assertRaisesRegex(DataError, "not an IDX file of unsigned bytes"):
      read_idx(path, expected_ndim=1)
    write_idx(path, self.images)
    with self.assertRaisesRegex(DataError, "has 3 dimensions, expected 1"):
      read_idx(path, expected_ndim=1)

  def test_missing_file(self):
    with self.assertRaisesRegex(DataError, "nothing.gz: file not found"):
      read_idx(os.path.join(self.dir, "nothing.gz"), expected_ndim=1)

  def test_gzip_of_a_header_only(self):
    path = os.path.join(self.dir, "short.gz")
    with gzip.open(path, "wb") as stream:
      stream.write(b"\x00\x00\x08")
    with self.assertRaisesRegex(DataError, "ends inside the IDX header"):
      read_idx(path, expected_ndim=1)

  @requires_data("mnist")
  def test_real_mnist_slice(self):
    folder = os.path.join(shared_data_dir(), "mnist")
    images = read_idx(os.path.join(folder, "train-images-idx3-ubyte.gz"), expected_ndim=3,
                      limit=100)
    labels = read_idx(os.path.join(folder, "train-labels-idx1-ubyte.gz"), expected_ndim=1,
                      limit=100)
    self.assertEqual(images.shape, (100, 28, 28))
    # The first MNIST training labels are well known: 5 0 4 1 9 2 1 3 1 4.
    self.assertEqual(labels[:10].tolist(), [5, 0, 4, 1, 9, 2, 1, 3, 1, 4])
    self.assertEqual(images.max(), 255)


if __name__ == "__main__":
  tf.test.main()
