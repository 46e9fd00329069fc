import os

import tensorflow as tf

from tff_course.data.leftovers import removed_on_failure


def _touch(path):
  os.makedirs(os.path.dirname(path), exist_ok=True)
  with open(path, "w", encoding="utf-8") as stream:
    stream.write("x")


def _tree(root):
  """Every path under `root`, relative to it."""
  found = set()
  for directory, folders, files in os.walk(root):
    for name in folders + files:
      found.add(os.path.relpath(os.path.join(directory, name), root))
  return found


class RemovedOnFailureTest(tf.test.TestCase):

  def setUp(self):
    super().setUp()
    self.root = self.create_tempdir().full_path
    _touch(os.path.join(self.root, "downloads", "kept.gz"))
    _touch(os.path.join(self.root, "other", "1.0.0", "data"))
    self.before = _tree(self.root)
    self.watched = (self.root, os.path.join(self.root, "downloads"),
                    os.path.join(self.root, "downloads", "extracted"),
                    os.path.join(self.root, "mnist"))

  def _add_partial_files(self):
    _touch(os.path.join(self.root, "downloads", "a.gz.tmp.123"))
    _touch(os.path.join(self.root, "downloads", "extracted", "b", "c"))
    _touch(os.path.join(self.root, "mnist", "3.0.1.incompleteXY", "shard"))
    _touch(os.path.join(self.root, "stray.lock"))

  def test_failure_removes_only_what_was_added(self):
    with self.assertRaisesRegex(ConnectionError, "offline"):
      with removed_on_failure(self.watched):
        self._add_partial_files()
        raise ConnectionError("offline")
    self.assertEqual(_tree(self.root), self.before)

  def test_interrupt_also_cleans_up_and_propagates(self):
    with self.assertRaises(KeyboardInterrupt):
      with removed_on_failure(self.watched):
        self._add_partial_files()
        raise KeyboardInterrupt
    self.assertEqual(_tree(self.root), self.before)

  def test_a_root_that_did_not_exist_is_removed_whole(self):
    root = os.path.join(self.create_tempdir().full_path, "tensorflow_datasets")
    with self.assertRaises(OSError):
      with removed_on_failure((root, os.path.join(root, "downloads"))):
        _touch(os.path.join(root, "downloads", "a.tmp"))
        raise OSError("disk full")
    self.assertFalse(os.path.exists(root))

  def test_success_keeps_everything(self):
    with removed_on_failure(self.watched):
      self._add_partial_files()
    self.assertEqual(_tree(self.root) - self.before,
                     {"downloads/a.gz.tmp.123", "downloads/extracted",
                      "downloads/extracted/b", "downloads/extracted/b/c", "mnist",
                      "mnist/3.0.1.incompleteXY", "mnist/3.0.1.incompleteXY/shard",
                      "stray.lock"})


if __name__ == "__main__":
  tf.test.main()
