"""The shakespeare course experiment: every arm processes the same windows a round and is
evaluated on the same test windows; end to end on the real LEAF split with a small model,
its report and answers."""

import os
from unittest import mock

import numpy as np
import tensorflow as tf

from tests.report_checks import assert_every_question_answered
from tests.shared_data import requires_data, shared_data_dir
from tff_course.course import course_experiment, plan_arms, run_course_experiment
from tff_course.course import shakespeare_course
from tff_course.course.seed_groups import group_of, seed_key, seed_of
from tff_course.course.settings import FULL
from tff_course.experiment.client_accuracy import ClientAccuracy
from tff_course.experiment.metrics_file import read_metrics


def _windows_a_round(arm) -> int:
  train = arm.config.train
  if train.algorithm == "centralized":
    return train.steps * train.batch_size
  clients = round(train.client_fraction * shakespeare_course.USERS)
  return clients * train.steps * train.batch_size


class ShakespeareCourseTest(tf.test.TestCase):

  def test_every_arm_processes_the_same_windows_and_is_tested_alike(self):
    for setting, seeds in (("default", shakespeare_course.SEEDS),
                           (FULL, shakespeare_course.FULL_SEEDS)):
      planned = plan_arms(course_experiment("shakespeare"), setting=setting)
      self.assertEqual([arm.key for arm in planned],
                       [seed_key(method, seed) for seed in seeds
                        for method in shakespeare_course.METHODS])
      self.assertEqual([arm.config.train.seed for arm in planned],
                       [seed for seed in seeds for _ in shakespeare_course.METHODS])
      self.assertLen({_windows_a_round(arm) for arm in planned}, 1)
      self.assertLen({tuple(sorted(arm.config.data.options.items())) for arm in planned}, 1)
      self.assertEqual([arm.config.data.partition for arm in planned],
                       ["natural", "iid", "natural"] * len(seeds))
      self.assertEqual({arm.config.train.client_optimizer for arm in planned}, {"adam"})
    full = plan_arms(course_experiment("shakespeare"), setting=FULL)
    self.assertEqual(full[0].config.data.options["test_windows"], 0)
    self.assertEqual({arm.config.train.rounds for arm in full}, {shakespeare_course.FULL_ROUNDS})
    default = plan_arms(course_experiment("shakespeare"))
    self.assertGreater(len(shakespeare_course.SEEDS), 1)
    self.assertEqual([arm.config.train.rounds for arm in default],
                     ([shakespeare_course.ROUNDS] * 2 + [shakespeare_course.CENTRAL_ROUNDS])
                     * len(shakespeare_course.SEEDS))

  def test_a_seed_key_gives_back_its_group_and_seed(self):
    key = seed_key("fedavg-natural", 12)
    self.assertEqual((group_of(key), seed_of(key)), ("fedavg-natural", 12))

  def test_pooled_users_average_each_users_accuracy_over_runs(self):
    first = ClientAccuracy(np.array([3, 7]), np.array([1.0, 4.0]), np.array([4.0, 8.0]))
    second = ClientAccuracy(np.array([3, 7]), np.array([3.0, 2.0]), np.array([4.0, 8.0]))
    pooled = shakespeare_course.pooled([first, second])
    self.assertAllClose(pooled.accuracies, [0.5, 0.375])
    self.assertAllEqual(pooled.clients, [3, 7])
    other = ClientAccuracy(np.array([3, 8]), np.array([1.0, 1.0]), np.array([4.0, 8.0]))
    with self.assertRaisesRegex(ValueError, "different users"):
      shakespeare_course.pooled([first, other])

  @requires_data("shakespeare-leaf", "100.txt")
  def test_runs_reports_and_resumes_on_the_leaf_split(self):
    run_dir = self.create_tempdir().full_path
    with mock.patch.multiple(shakespeare_course, MODEL="mlp", CLIENTS=2, LOCAL_STEPS=2,
                             BATCH=8, ROUNDS=2, CENTRAL_ROUNDS=2, EVAL_EVERY=1,
                             TEST_WINDOWS=64, SEEDS=(0, 1)):
      experiment = course_experiment("shakespeare")
      report = run_course_experiment(experiment, run_dir, data_dir=shared_data_dir(),
                                     progress=False)
      with open(report, encoding="utf-8") as stream:
        text = stream.read()
      keys = [seed_key(method, seed) for seed in (0, 1)
              for method in shakespeare_course.METHODS]
      metrics = {key: read_metrics(os.path.join(run_dir, key)) for key in keys}
      run_course_experiment(experiment, run_dir, data_dir=shared_data_dir(), progress=False)
    assert_every_question_answered(self, text)
    self.assertIn("## Each user's own test windows", text)
    for image in ("curves.png", "accuracy-minutes.png", "user-accuracy.png"):
      self.assertTrue(os.path.isfile(os.path.join(run_dir, image)), image)
    self.assertIn("FedAvg, natural clients", text)
    self.assertIn("first round at 40% (each seed)", text)
    self.assertIn("means over 2 seeds", text)
    self.assertIn("seed 1: ", text)
    for key, columns in metrics.items():
      self.assertAllEqual(columns["round"], [1, 2])
      self.assertAllEqual(columns["examples"], [2 * 2 * 8] * 2)
      self.assertAllEqual(read_metrics(os.path.join(run_dir, key))["seconds"],
                          columns["seconds"])


if __name__ == "__main__":
  tf.test.main()
