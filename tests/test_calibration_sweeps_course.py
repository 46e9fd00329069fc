"""The calibration-sweeps course experiment: its arms, and end to end cut to one
calibration round, one round, 10 clients, one seed, with masks calibrated centrally and by
the clients."""

import os
from unittest import mock

import tensorflow as tf

from tests.report_checks import assert_every_question_answered
from tests.shared_data import requires_data, shared_data_dir, small_preparations
from tff_course.course import (calibration_sweeps, course_experiment, finetune_configs,
                               plan_arms, run_course_experiment)


class CalibrationSweepsArmsTest(tf.test.TestCase):

  def test_arms_and_their_preparations(self):
    arms = plan_arms(course_experiment("calibration-sweeps"))
    self.assertEqual([arm.key for arm in arms if arm.key.endswith("-s0")],
                     ["fed-d0.1-r1-s0", "fed-d0.1-r4-s0", "fed-d0.1-r16-s0",
                      "fed-d0.1-r4-fedcal-s0"])
    self.assertLen(arms, 8)
    preparations = {arm.preparation.key: arm.preparation for arm in arms}
    self.assertTrue(preparations["d0.1-r4-fedcal-s1"].federated)
    self.assertFalse(preparations["d0.1-r4-s1"].federated)
    self.assertEqual(preparations["d0.1-r16-s0"].settings.rounds, 16)


@requires_data("weights", "resnet20-cifar10")
class CalibrationSweepsRunTest(tf.test.TestCase):

  def test_runs_and_compares_the_calibrations(self):
    run_dir = self.create_tempdir().full_path
    with small_preparations(), mock.patch.object(finetune_configs, "CLIENTS", 10), \
        mock.patch.multiple(calibration_sweeps, CALIBRATION_ROUNDS=(1,), DEFAULT_ROUNDS=1,
                            SEEDS=(0,)):
      report = run_course_experiment(course_experiment("calibration-sweeps"), run_dir,
                                     rounds=1, data_dir=shared_data_dir(),
                                     overrides=["data.limit=1000"], progress=False)
    with open(report, encoding="utf-8") as stream:
      text = stream.read()
    self.assertEqual(sorted(os.listdir(os.path.join(run_dir, "prepared"))),
                     ["d0.1-r1-fedcal-s0", "d0.1-r1-s0", "heads"])
    assert_every_question_answered(self, text)
    self.assertRegex(text, r"\| 1 \| \d+\.\d+ % \+- \d+\.\d \|")
    self.assertRegex(text, r"\d+\.\d % of the entries the clients' calibration opens are "
                           r"opened by the central one too \(mean of 1 seed\)")
