"""The finetune-schedules course experiment end to end: three schedules, one seed, one
epoch each on a few hundred examples."""

import os
import re
from unittest import mock

import tensorflow as tf

from tests.report_checks import assert_every_question_answered
from tests.shared_data import requires_data, shared_data_dir, small_preparations
from tff_course.course import course_experiment, finetune_schedules, run_course_experiment


@requires_data("weights", "resnet20-cifar10")
class FinetuneSchedulesTest(tf.test.TestCase):

  def test_three_schedules_share_one_preparation_and_answer(self):
    run_dir = self.create_tempdir().full_path
    with small_preparations(), \
        mock.patch.multiple(finetune_schedules, SEEDS=(0,), EXAMPLES=320):
      report = run_course_experiment(course_experiment("finetune-schedules"), run_dir,
                                     rounds=2, data_dir=shared_data_dir(),
                                     overrides=["data.limit=1000"], progress=False)
    with open(report, encoding="utf-8") as stream:
      text = stream.read()
    self.assertEqual(sorted(os.listdir(os.path.join(run_dir, "prepared"))),
                     ["dense-s0", "heads"])
    self.assertTrue(os.path.isfile(os.path.join(run_dir, "curves.png")))
    assert_every_question_answered(self, text)
    for schedule in ("constant", "step (/10 at 50 % and 75 %)", "cosine annealing"):
      self.assertRegex(text, rf"\| {re.escape(schedule)} \| 1 \| \d+\.\d+ % \+- \d+\.\d \|")
