"""The C++ log level the toolkit's worker processes get: the one the user started with,
else quiet, whatever an import set since (jax sets "1")."""

import os
from unittest import mock

import tensorflow as tf

from tff_course import tf_log


class ChildEnvironmentTest(tf.test.TestCase):

  def level_for(self, initial: bytes, current: str) -> str:
    path = os.path.join(self.create_tempdir().full_path, "environ")
    with open(path, "wb") as stream:
      stream.write(initial)
    with mock.patch.object(tf_log, "INITIAL_ENVIRONMENT", path), \
        mock.patch.dict(os.environ, {"TF_CPP_MIN_LOG_LEVEL": current}):
      return tf_log.child_environment()["TF_CPP_MIN_LOG_LEVEL"]

  def test_an_import_that_set_the_level_does_not_count_as_the_users_choice(self):
    self.assertEqual(self.level_for(b"HOME=/root\0PATH=/bin\0", current="1"), "3")

  def test_the_level_the_user_started_with_is_kept(self):
    self.assertEqual(self.level_for(b"HOME=/root\0TF_CPP_MIN_LOG_LEVEL=0\0", current="1"), "0")

  def test_the_rest_of_the_environment_is_passed_on(self):
    with mock.patch.dict(os.environ, {"TFF_COURSE_PROBE": "x"}):
      self.assertEqual(tf_log.child_environment()["TFF_COURSE_PROBE"], "x")


if __name__ == "__main__":
  tf.test.main()
