"""The label-skew course experiment: its grid keeps rounds x J constant; end to end cut to
IID and Nc = 1 at J = 4 for one round, one seed, and task vectors of 3 clients."""

import os
from unittest import mock

import numpy as np
import tensorflow as tf

from tests.report_checks import assert_every_question_answered
from tests.shared_data import requires_data, shared_data_dir, small_preparations
from tff_course.course import course_experiment, label_skew, plan_arms, run_course_experiment
from tff_course.course.preparation import resolved
from tff_course.course.results import Results
from tff_course.course.settings import FULL


class LabelSkewGridTest(tf.test.TestCase):

  def test_every_arm_takes_the_same_local_steps(self):
    experiment = course_experiment("label-skew")
    arms = plan_arms(experiment)
    self.assertLen(arms, len(label_skew.DEFAULT_PARTITIONS) * len(label_skew.LOCAL_STEPS) *
                   len(label_skew.SEEDS))
    self.assertEqual({arm.config.train.rounds * arm.config.train.steps for arm in arms},
                     {label_skew.STEP_BUDGET})
    self.assertEqual({arm.config.data.classes_per_client for arm in arms}, {None, 1, 5})
    full = plan_arms(experiment, setting=FULL)
    self.assertEqual({arm.config.data.classes_per_client for arm in full}, {None, 1, 2, 5})
    cut = {arm.key: arm.config.train.rounds for arm in plan_arms(experiment, rounds=1)}
    self.assertEqual((cut["nc5-j16-s0"], cut["nc5-j8-s0"], cut["nc5-j4-s0"]), (1, 2, 4))


@requires_data("weights", "resnet20-cifar10")
class LabelSkewRunTest(tf.test.TestCase):

  def test_runs_and_compares_client_vectors(self):
    run_dir = self.create_tempdir().full_path
    with small_preparations(), \
        mock.patch.object(label_skew, "PARTITIONS", {"iid": None, "nc1": 1}), \
        mock.patch.multiple(label_skew, LOCAL_STEPS=(4,), STEP_BUDGET=4, SEEDS=(0,),
                            VECTOR_CLIENTS=3, VECTOR_STEPS=2):
      experiment = course_experiment("label-skew")
      report = run_course_experiment(experiment, run_dir, data_dir=shared_data_dir(),
                                     overrides=["data.limit=2000"], progress=False)
      arms = tuple(resolved(arm, run_dir) for arm in plan_arms(experiment))
      agreement = label_skew.client_agreement(Results(run_dir, arms,
                                                      data_dir=shared_data_dir()))
    with open(report, encoding="utf-8") as stream:
      text = stream.read()
    for image in ("accuracy-grid.png", "client-cosines.png"):
      self.assertTrue(os.path.isfile(os.path.join(run_dir, image)), image)
    assert_every_question_answered(self, text)
    self.assertRegex(text, r"\| Nc = 1 \| \d+\.\d+ % \+- \d+\.\d \|")
    self.assertRegex(text, r"\| IID \| [+-]\d\.\d{3} \| [+-]\d\.\d{3} \| \d\.\d{3} \|")
    self.assertEqual(set(agreement), {"iid", "nc1"})
    for measured in agreement.values():
      self.assertEqual(measured.cosines.shape, (3, 3))
      np.testing.assert_allclose(np.diag(measured.cosines), 1.0, rtol=1e-6)
      self.assertBetween(measured.kept, 0.0, 1.0)
