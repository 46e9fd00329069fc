"""The large-batch course experiment: its grid of recipes and batch sizes at equal epochs,
the peak rates its rules give, and a tiny end-to-end run on synthetic data (two batch
sizes, one epoch) with its report, answers and per-epoch metrics."""

import os
from unittest import mock

import tensorflow as tf

from tests.report_checks import assert_every_question_answered
from tff_course.course import (course_experiment, large_batch_course, plan_arms,
                               run_course_experiment)


class LargeBatchCourseTest(tf.test.TestCase):

  def test_grid_and_peak_rates(self):
    planned = plan_arms(course_experiment("large-batch"))
    self.assertLen(planned, len(large_batch_course.RECIPES) *
                   len(large_batch_course.BATCH_SIZES))
    self.assertEqual({arm.settings["rounds"] for arm in planned}, {large_batch_course.EPOCHS})
    self.assertAlmostEqual(large_batch_course.peak_rate("sgd-linear", 1024), 0.4)
    self.assertAlmostEqual(large_batch_course.peak_rate("sgd-sqrt", 512), 0.1)
    self.assertAlmostEqual(large_batch_course.peak_rate("lars", 4096), 9.6)
    self.assertAlmostEqual(large_batch_course.peak_rate("lamb", 128), 0.002)

  def test_runs_and_reports(self):
    run_dir = self.create_tempdir().full_path
    small = {**large_batch_course.COMMON, "dataset": "synthetic_iid", "model": "mlp"}
    with mock.patch.multiple(large_batch_course, COMMON=small, BATCH_SIZES=(16, 64), EPOCHS=2,
                             BASE_BATCH=16):
      report = run_course_experiment(course_experiment("large-batch"), run_dir, progress=False)
    with open(report, encoding="utf-8") as stream:
      text = stream.read()
    assert_every_question_answered(self, text)
    self.assertTrue(os.path.isfile(os.path.join(run_dir, "accuracy-by-batch.png")))
    with open(os.path.join(run_dir, "lars-b64-s0", "metrics.csv")) as stream:
      rows = stream.read().splitlines()
    self.assertLen(rows, 3)
    self.assertTrue(rows[0].startswith("round,train_loss,test_accuracy,test_loss,seconds"))


if __name__ == "__main__":
  tf.test.main()
