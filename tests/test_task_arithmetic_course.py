"""The task-arithmetic course experiment end to end: four runs of one round, the merge
over three alphas, the report and its answers."""

import os
from unittest import mock

import tensorflow as tf

from tests.report_checks import assert_every_question_answered
from tests.shared_data import requires_data, shared_data_dir, small_preparations
from tff_course.course import (course_experiment, finetune_configs, run_course_experiment,
                               task_arithmetic)


@requires_data("weights", "resnet20-cifar10")
class TaskArithmeticTest(tf.test.TestCase):

  def test_merges_the_two_tasks_and_answers(self):
    run_dir = self.create_tempdir().full_path
    with small_preparations(), mock.patch.object(finetune_configs, "CLIENTS", 10), \
        mock.patch.multiple(task_arithmetic, GRID=(0.0, 0.5, 1.0), SEEDS=(0,)):
      report = run_course_experiment(course_experiment("task-arithmetic"), run_dir, rounds=1,
                                     data_dir=shared_data_dir(),
                                     overrides=["data.limit=600"], progress=False)
    with open(report, encoding="utf-8") as stream:
      text = stream.read()
    self.assertTrue(os.path.isfile(os.path.join(run_dir, "alpha.png")))
    assert_every_question_answered(self, text)
    self.assertRegex(text, r"\| dense \| mnist \| \d+\.\d+ % \| \d+\.\d+ % \|")
    self.assertIn("Normalized accuracy of the merge: sparse", text)
