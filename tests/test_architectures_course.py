"""The architectures course experiment: every architecture gets the same budget on the
same two partitions; end to end on synthetic data with small models, report and answers."""

import os
from unittest import mock

import tensorflow as tf

from tests.report_checks import assert_every_question_answered
from tff_course.course import architectures, course_experiment, plan_arms, run_course_experiment
from tff_course.course.settings import FULL


class ArchitecturesCourseTest(tf.test.TestCase):

  def test_every_architecture_gets_the_same_budget(self):
    for setting, seeds in (("default", architectures.SEEDS), (FULL, architectures.FULL_SEEDS)):
      planned = plan_arms(course_experiment("architectures"), setting=setting)
      self.assertLen(planned, len(seeds) * 2 * len(architectures.MODELS))
      budget = {(a.config.train.rounds, a.config.train.steps, a.config.train.batch_size,
                 a.config.train.client_fraction) for a in planned}
      self.assertLen(budget, 1)
      self.assertEqual({a.config.train.model for a in planned},
                       {"cifar_convnet", "resnet20_cifar", "resnet20_groupnorm", "vit_tiny"})
      self.assertEqual({a.config.data.partition for a in planned}, {"iid", "dirichlet"})

  def test_runs_and_reports_the_drop(self):
    run_dir = self.create_tempdir().full_path
    small = {key: "mlp" for key in architectures.MODEL_NAMES}
    with mock.patch.multiple(architectures, DATASET="synthetic", MODEL_NAMES=small,
                             CLIENTS=10, MIN_SIZE=1, LOCAL_STEPS=2, ROUNDS=2, EVAL_EVERY=1,
                             SEEDS=(0,)):
      report = run_course_experiment(course_experiment("architectures"), run_dir,
                                     progress=False)
    with open(report, encoding="utf-8") as stream:
      text = stream.read()
    assert_every_question_answered(self, text)
    self.assertIn("ResNet-20, group norm", text)
    for image in ("accuracy.png", "curves.png"):
      self.assertTrue(os.path.isfile(os.path.join(run_dir, image)))


if __name__ == "__main__":
  tf.test.main()
