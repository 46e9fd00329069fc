"""Output paths checked before any work; directories a failed command made, removed."""

import os
import tempfile
import unittest
from unittest import mock

from tff_course.errors import ConfigError
from tff_course.output_paths import check_output_dir, check_output_file, removed_if_left_empty


class OutputPathTest(unittest.TestCase):

  def setUp(self):
    self.root = tempfile.mkdtemp()
    self.file = os.path.join(self.root, "a-file")
    with open(self.file, "w") as stream:
      stream.write("x")

  def test_new_and_existing_directories_pass_and_nothing_is_created(self):
    new = os.path.join(self.root, "new", "run")
    check_output_dir(new, "--out")
    check_output_dir(self.root, "--out")
    check_output_file(os.path.join(new, "out.h5"), "--out")
    self.assertEqual(os.listdir(self.root), ["a-file"])

  def test_a_directory_that_is_a_file(self):
    with self.assertRaisesRegex(ConfigError, rf"^--out: got '{self.file}', which is a "
                                             rf"file; expected a directory \(new or "
                                             rf"existing\)$"):
      check_output_dir(self.file, "--out")

  def test_a_path_under_a_file(self):
    path = os.path.join(self.file, "run", "x")
    with self.assertRaisesRegex(ConfigError, rf"^--out: got '{path}', which lies under the "
                                             rf"file '{self.file}'; expected a path in a "
                                             rf"directory"):
      check_output_dir(path, "--out")
    with self.assertRaisesRegex(ConfigError, rf"^--out: got '{path}', which lies under"):
      check_output_file(path, "--out")

  def test_a_file_that_is_a_directory(self):
    with self.assertRaisesRegex(ConfigError, rf"^--out: got '{self.root}', which is a "
                                             rf"directory; expected a file name$"):
      check_output_file(self.root, "--out")

  def test_a_directory_it_cannot_write_into(self):
    locked = os.path.join(self.root, "locked")
    os.mkdir(locked)
    real_access = os.access
    denied = lambda path, mode: os.path.abspath(path) != locked and real_access(path, mode)
    with mock.patch("os.access", side_effect=denied):
      for path in (locked, os.path.join(locked, "new", "run")):
        with self.assertRaisesRegex(ConfigError, rf"^--out: got '{path}', but '{locked}'"
                                                 rf" is not writable; expected a directory "
                                                 rf"it can write into$"):
          check_output_dir(path, "--out")
      with self.assertRaisesRegex(ConfigError, "is not writable"):
        check_output_file(os.path.join(locked, "m.h5"), "--out")


class RemovedIfLeftEmptyTest(unittest.TestCase):

  def setUp(self):
    self.root = tempfile.mkdtemp()

  def test_directories_made_by_a_failed_block_are_removed_when_empty(self):
    path = os.path.join(self.root, "a", "b")
    with self.assertRaises(RuntimeError):
      with removed_if_left_empty(path):
        os.makedirs(os.path.join(path, "c"))
        raise RuntimeError("setup failed")
    self.assertEqual(os.listdir(self.root), [])

  def test_what_holds_a_file_or_existed_before_is_kept(self):
    path = os.path.join(self.root, "run")
    with self.assertRaises(RuntimeError):
      with removed_if_left_empty(path):
        os.makedirs(path)
        with open(os.path.join(path, "metrics.csv"), "w") as stream:
          stream.write("round\n")
        raise RuntimeError("round 3 failed")
    self.assertEqual(os.listdir(path), ["metrics.csv"])
    with self.assertRaises(RuntimeError):
      with removed_if_left_empty(self.root):
        raise RuntimeError("failed")
    self.assertTrue(os.path.isdir(self.root))

  def test_a_block_that_succeeds_keeps_its_directories(self):
    path = os.path.join(self.root, "run")
    with removed_if_left_empty(path):
      os.makedirs(path)
    self.assertTrue(os.path.isdir(path))


if __name__ == "__main__":
  unittest.main()
