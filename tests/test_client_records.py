import os

import numpy as np
import tensorflow as tf

from tff_course.algorithms.local_work import LocalWork
from tff_course.algorithms.tensor_batches import batches_fn
from tff_course.data.client_records import ClientRecords
from tff_course.data.dataset import Modality, Split
from tff_course.data.pipeline import model_inputs


def _split(x, rng):
  return Split(x=x, y=rng.integers(0, 10, len(x)).astype(np.int64))


def _sorted_rows(x, y):
  """Rows of (label, inputs...) in a canonical order, to compare streams as sets."""
  table = np.concatenate([y.reshape(-1, 1).astype(np.float64),
                          x.reshape(len(y), -1).astype(np.float64)], axis=1)
  return table[np.lexsort(table.T[::-1])]


class ClientRecordsTest(tf.test.TestCase):

  def _check_stream(self, split, modality, clients, batch_size=None):
    with ClientRecords(split, clients, modality) as records:
      for client_id, indices in clients.items():
        self._check_stream_of(records, split, client_id, indices, batch_size)

  def _check_stream_of(self, records, split, client_id, indices, batch_size=None):
    make = batches_fn(records.read_fn(), LocalWork(epochs=1, batch_size=batch_size))
    batches = make(tf.constant(records.client_input(client_id, 7))).as_list()
    x = np.concatenate([b[0].numpy() for b in batches])
    y = np.concatenate([b[1].numpy() for b in batches])
    modality = records.modality
    self.assertEqual(x.dtype, model_inputs(split.x[:1], modality).dtype)
    self.assertAllEqual(_sorted_rows(x, y),
                        _sorted_rows(model_inputs(split.x[indices], modality),
                                     split.y[indices]))

  def test_images_decode_to_the_numpy_model_inputs(self):
    rng = np.random.default_rng(0)
    split = _split(rng.integers(0, 256, (30, 4, 4, 1), dtype=np.uint8), rng)
    self._check_stream(split, Modality.IMAGE, {"a": np.arange(0, 12), "b": np.arange(12, 30)},
                       batch_size=5)

  def test_float_features_and_text_round_trip_exactly(self):
    rng = np.random.default_rng(1)
    clients = {"a": np.array([3, 1, 4]), "b": np.array([0, 2, 5, 6, 7])}
    self._check_stream(_split(rng.normal(size=(8, 6)).astype(np.float32), rng),
                       Modality.FEATURES, clients)
    self._check_stream(_split(rng.integers(0, 81, (8, 80)), rng), Modality.TEXT, clients)

  def test_batches_epochs_and_steps(self):
    rng = np.random.default_rng(2)
    split = _split(rng.integers(0, 256, (23, 2, 2, 1), dtype=np.uint8), rng)
    with ClientRecords(split, {"a": np.arange(23)}, Modality.IMAGE) as records:
      client = tf.constant(records.client_input("a", 1))

      def sizes(local_work):
        return [len(b[1]) for b in batches_fn(records.read_fn(), local_work)(client).as_list()]

      self.assertEqual(sizes(LocalWork(epochs=2, batch_size=10)), [10, 10, 3] * 2)
      self.assertEqual(sizes(LocalWork(batch_size=None)), [23])
      self.assertEqual(sizes(LocalWork(epochs=None, steps=5, batch_size=10)), [10, 10, 3, 10, 10])

  def test_same_seed_same_order_and_epochs_reshuffle(self):
    rng = np.random.default_rng(3)
    split = _split(rng.integers(0, 256, (50, 1, 1, 1), dtype=np.uint8), rng)
    with ClientRecords(split, {"a": np.arange(50)}, Modality.IMAGE) as records:
      make = batches_fn(records.read_fn(), LocalWork(epochs=2, batch_size=50))

      def order(seed):
        batches = make(tf.constant(records.client_input("a", seed))).as_list()
        return [b[0].numpy().ravel() for b in batches]

      first, again, other = order(5), order(5), order(6)
      self.assertAllEqual(first, again)
      self.assertNotAllEqual(first[0], other[0])
      self.assertNotAllEqual(first[0], first[1])

  def test_close_deletes_the_files(self):
    rng = np.random.default_rng(4)
    records = ClientRecords(_split(rng.normal(size=(4, 2)).astype(np.float32), rng),
                            {"a": np.arange(4)}, Modality.FEATURES)
    records.client_input("a", 0)
    self.assertLen(os.listdir(records.directory), 1)
    records.close()
    self.assertFalse(os.path.exists(records.directory))

  def test_a_file_is_written_when_its_client_is_first_asked_for(self):
    rng = np.random.default_rng(6)
    split = _split(rng.normal(size=(6, 2)).astype(np.float32), rng)
    clients = {name: np.array([i, i + 3]) for i, name in enumerate("abc")}
    with ClientRecords(split, clients, Modality.FEATURES) as records:
      self.assertEqual(os.listdir(records.directory), [])
      first = records.client_input("b", 0)
      self.assertEqual(os.listdir(records.directory), [f"{first[0]}.records"])
      written = os.path.getmtime(os.path.join(records.directory, f"{first[0]}.records"))
      self.assertAllEqual(records.client_input("b", 5), [first[0], 5])
      self.assertEqual(os.path.getmtime(os.path.join(records.directory,
                                                     f"{first[0]}.records")), written)
      records.client_input("c", 0)
      self.assertLen(os.listdir(records.directory), 2)

  def test_a_killed_uses_files_are_deleted_when_the_directory_is_reused(self):
    rng = np.random.default_rng(7)
    directory = self.create_tempdir().full_path
    for name in ("0.records", "1.records.partial"):
      with open(os.path.join(directory, name), "wb") as stream:
        stream.write(b"stale")
    split = _split(rng.normal(size=(4, 2)).astype(np.float32), rng)
    with ClientRecords(split, {"a": np.arange(4)}, Modality.FEATURES,
                       directory=directory) as records:
      self.assertEqual(os.listdir(directory), [])
      self._check_stream_of(records, split, "a", np.arange(4))

  def test_given_directory_is_kept_and_only_the_records_removed(self):
    rng = np.random.default_rng(5)
    directory = self.create_tempdir().full_path
    with open(os.path.join(directory, "other.txt"), "w") as stream:
      stream.write("keep")
    with ClientRecords(_split(rng.normal(size=(4, 2)).astype(np.float32), rng),
                       {"a": np.arange(2), "b": np.arange(2, 4)}, Modality.FEATURES,
                       directory=directory) as records:
      records.client_input("a", 0)
      records.client_input("b", 0)
      self.assertLen(os.listdir(directory), 3)
    self.assertEqual(os.listdir(directory), ["other.txt"])


if __name__ == "__main__":
  tf.test.main()
