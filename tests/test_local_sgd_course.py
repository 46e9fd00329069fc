"""The local-sgd course experiment: every arm takes the same SGD steps; end to end on
synthetic data with real worker processes (H in {1, 4} and SlowMo, one seed), its report
and answers, and a second run that finds every arm finished."""

import os
from unittest import mock

import tensorflow as tf

from tests.report_checks import assert_every_question_answered
from tff_course.course import course_experiment, local_sgd_course, plan_arms, run_course_experiment
from tff_course.course.settings import FULL


class LocalSgdCourseTest(tf.test.TestCase):

  def test_every_arm_takes_the_same_steps(self):
    experiment = course_experiment("local-sgd")
    for setting, steps in (("default", local_sgd_course.STEPS),
                           (FULL, local_sgd_course.FULL_STEPS)):
      planned = plan_arms(experiment, setting=setting)
      self.assertEqual({arm.settings["rounds"] * arm.settings["local_steps"] for arm in planned},
                       {steps})
      self.assertEqual(sorted({arm.settings["local_steps"] for arm in planned}),
                       list(local_sgd_course.LOCAL_STEPS))
    slowmo = [arm for arm in plan_arms(experiment) if arm.settings["outer_momentum"] > 0]
    self.assertEqual({arm.settings["local_steps"] for arm in slowmo},
                     {local_sgd_course.SLOWMO_STEPS})

  def test_runs_reports_and_resumes(self):
    run_dir = self.create_tempdir().full_path
    small = {**local_sgd_course.COMMON, "dataset": "synthetic_iid", "model": "mlp",
             "batch_size": 16}
    with mock.patch.multiple(local_sgd_course, COMMON=small, LOCAL_STEPS=(1, 4),
                             SLOWMO_STEPS=4, SEEDS=(0,), STEPS=8, EVALUATIONS=2):
      experiment = course_experiment("local-sgd")
      report = run_course_experiment(experiment, run_dir, progress=False)
      with open(report, encoding="utf-8") as stream:
        text = stream.read()
      with mock.patch("tff_course.distributed.launch.run_workers",
                      side_effect=AssertionError("ran a finished arm again")):
        run_course_experiment(experiment, run_dir, progress=False)
    assert_every_question_answered(self, text)
    self.assertTrue(os.path.isfile(os.path.join(run_dir, "accuracy-curves.png")))
    with open(os.path.join(run_dir, "local-h4-s0", "metrics.csv")) as stream:
      rows = stream.read().splitlines()
    self.assertLen(rows, 3)
    self.assertTrue(rows[0].startswith("round,train_loss,test_accuracy,seconds"))
    self.assertIn("Local SGD, H = 4", text)


if __name__ == "__main__":
  tf.test.main()
