"""The participation course experiment: rounds x J is the same in every arm, the grid is
C x J x partition; end to end on synthetic data, its report and answers."""

import os
from unittest import mock

import h5py
import tensorflow as tf

from tests.fake_cifar import write_fake_cifar100
from tests.report_checks import assert_every_question_answered
from tff_course.course import course_experiment, participation, plan_arms, run_course_experiment
from tff_course.course.settings import FULL
from tff_course.experiment.metrics_file import read_metrics
from tff_course.experiment.records import MODEL_WEIGHTS
from tff_course.experiment.runner import run_experiment


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

  def test_an_arm_trains_on_cifar100_where_its_files_exist(self):
    data_dir = write_fake_cifar100(self.create_tempdir().full_path)
    planned = plan_arms(course_experiment("participation"), rounds=1, overrides=[
        "data.dataset=cifar100", "data.num_clients=10", "data.samples_per_client=20"])
    arm = max((a for a in planned if a.config.data.classes_per_client == 2),
              key=lambda a: a.config.train.steps)
    self.assertEqual(arm.rounds, 1)
    run_dir = os.path.join(self.create_tempdir().full_path, arm.key)
    run_experiment(arm.config, run_dir, data_dir=data_dir, progress=False)
    self.assertAllEqual(read_metrics(run_dir)["round"], [1])
    with h5py.File(os.path.join(run_dir, MODEL_WEIGHTS), "r") as weights:
      shapes = []
      weights.visititems(lambda name, item: shapes.append(item.shape)
                         if isinstance(item, h5py.Dataset) else None)
    self.assertIn((100,), shapes)


if __name__ == "__main__":
  tf.test.main()
