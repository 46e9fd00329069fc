"""The sparse-sweeps course experiment: its arms, and end to end cut to density 0.1 and
dense, one round, one calibration round, 10 clients, one seed."""

import json
import os
from unittest import mock

import tensorflow as tf

from tests.report_checks import assert_every_question_answered
from tests.shared_data import requires_data, shared_data_dir, small_preparations
from tff_course.course import (course_experiment, finetune_configs, plan_arms,
                               run_course_experiment, sparse_sweeps)


class SparseSweepsArmsTest(tf.test.TestCase):

  def test_arms_and_their_preparations(self):
    arms = plan_arms(course_experiment("sparse-sweeps"))
    keys = [arm.key for arm in arms]
    self.assertLen(keys, 20)
    self.assertIn("central-d0.01-r4-s1", keys)
    self.assertIn("fed-dense-s0", keys)
    preparations = {arm.preparation.key: arm.preparation for arm in arms}
    self.assertLen(preparations, 10)
    self.assertEqual(preparations["dense-s1"].settings.density, 1.0)
    configs = {arm.key: arm.config for arm in arms}
    central = configs["central-d0.3-r4-s0"]
    self.assertEqual((central.train.algorithm, central.data.samples_per_client,
                      central.train.rounds, central.train.eval_every),
                     ("centralized", 5000, 1, 1))
    federated = configs["fed-d0.05-r4-s1"]
    self.assertEqual((federated.train.rounds, federated.train.eval_every, federated.train.seed),
                     (10, 10, 1))


@requires_data("weights", "resnet20-cifar10")
class SparseSweepsRunTest(tf.test.TestCase):

  def test_runs_federated_and_centralized(self):
    run_dir = self.create_tempdir().full_path
    with small_preparations(), mock.patch.object(finetune_configs, "CLIENTS", 10), \
        mock.patch.multiple(sparse_sweeps, DENSITIES=(0.1,), DEFAULT_ROUNDS=1, SEEDS=(0,),
                            CENTRAL_EXAMPLES=500):
      report = run_course_experiment(course_experiment("sparse-sweeps"), run_dir, rounds=1,
                                     data_dir=shared_data_dir(),
                                     overrides=["data.limit=1000"], progress=False)
    with open(report, encoding="utf-8") as stream:
      text = stream.read()
    self.assertEqual(sorted(os.listdir(os.path.join(run_dir, "prepared"))),
                     ["d0.1-r1-s0", "dense-s0", "heads"])
    with open(os.path.join(run_dir, "prepared", "dense-s0", "prepare.json")) as stream:
      self.assertTrue(json.load(stream)["head_cached"])
    self.assertTrue(os.path.isfile(os.path.join(run_dir, "accuracy-density.png")))
    assert_every_question_answered(self, text)
    self.assertRegex(text, r"\| 0\.1 \| \d+\.\d+ % \+- \d+\.\d \| \d+\.\d+ % \+- \d+\.\d \| ")
