"""The sparse-rules course experiment end to end, cut to two rules, one seed, one round."""

import os
import re
from unittest import mock

import tensorflow as tf

from tests.report_checks import assert_every_question_answered
from tests.shared_data import requires_data, shared_data_dir, small_preparations
from tff_course.course import course_experiment, plan_arms, run_course_experiment
from tff_course.course import finetune_configs, sparse_rules
from tff_course.sparse.mask_set import load_masks


@requires_data("weights", "resnet20-cifar10")
class SparseRulesTest(tf.test.TestCase):

  def test_prepares_once_runs_and_answers(self):
    run_dir = self.create_tempdir().full_path
    with mock.patch.object(sparse_rules, "COMPARED", ("dense", "least_sensitive")), \
        mock.patch.object(sparse_rules, "SEEDS", (0,)), \
        small_preparations(), mock.patch.object(finetune_configs, "CLIENTS", 10):
      experiment = course_experiment("sparse-rules")
      report = run_course_experiment(experiment, run_dir, rounds=1, data_dir=shared_data_dir(),
                                     overrides=["data.limit=2000"], progress=False)
      keys = [arm.key for arm in plan_arms(experiment, rounds=1)]
    self.assertEqual(keys, ["dense-s0", "least-sensitive-s0"])
    with open(report, encoding="utf-8") as stream:
      text = stream.read()
    for image in re.findall(r"!\[[^]]*\]\(([^)]+)\)", text):
      self.assertTrue(os.path.isfile(os.path.join(run_dir, image)), image)
    assert_every_question_answered(self, text)
    dense = load_masks(os.path.join(run_dir, "prepared", "dense-s0", "masks.npz"))
    sparse = load_masks(os.path.join(run_dir, "prepared", "least-sensitive-s0", "masks.npz"))
    self.assertTrue(dense["layer3.2.conv2/kernel"].all())
    self.assertFalse(sparse["linear/kernel"].any())
    self.assertIn("| least sensitive | 1 |", text)

