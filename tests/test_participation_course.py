"""The participation course experiment: rounds x J is the same in every arm, the grid is
C x J x partition; end to end on synthetic data, its report and answers."""

import os
from unittest import mock

import tensorflow as tf

from tests.report_checks import assert_every_question_answered
from tff_course.course import course_experiment, participation, plan_arms, run_course_experiment
from tff_course.course.settings import FULL


class ParticipationCourseTest(tf.test.TestCase):

  def test_every_arm_takes_the_same_budget_of_local_steps(self):
    experiment = course_experiment("participation")
    for setting, budget, fractions, steps, seeds in (
        ("default", participation.STEP_BUDGET, participation.DEFAULT_FRACTIONS,
         participation.DEFAULT_LOCAL_STEPS, participation.SEEDS),
        (FULL, participation.FULL_STEP_BUDGET, participation.FRACTIONS,
         participation.LOCAL_STEPS, participation.FULL_SEEDS)):
      planned = plan_arms(experiment, setting=setting)
      self.assertEqual({a.config.train.rounds * a.config.train.steps for a in planned},
                       {budget})
      self.assertLen(planned, len(fractions) * len(steps) * len(participation.PARTITIONS) *
                     len(seeds))
      self.assertEqual(sorted({a.config.train.client_fraction for a in planned}),
                       list(fractions))
      self.assertEqual({a.config.data.classes_per_client for a in planned}, {None, 2})
    self.assertEqual(participation.parse_group("nc2-c0.05-j16"), ("nc2", 0.05, 16))

  def test_runs_reports_and_answers(self):
    run_dir = self.create_tempdir().full_path
    small = {"iid": None, "nc2": 2}
    with mock.patch.multiple(participation, DATASET="synthetic_iid", MODEL="mlp",
                             PARTITIONS=small, DEFAULT_FRACTIONS=(0.1, 0.5),
                             DEFAULT_LOCAL_STEPS=(1, 4), STEP_BUDGET=4, EVALUATIONS=2,
                             SEEDS=(0,)):
      experiment = course_experiment("participation")
      report = run_course_experiment(
          experiment, run_dir, progress=False,
          overrides=["data.num_clients=10", "data.samples_per_client=20"])
    with open(report, encoding="utf-8") as stream:
      text = stream.read()
    assert_every_question_answered(self, text)
    self.assertIn("### Nc = 2", text)
    self.assertTrue(os.path.isfile(os.path.join(run_dir, "curves.png")))


if __name__ == "__main__":
  tf.test.main()
