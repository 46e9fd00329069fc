"""The selection course experiment: arms differ only in how clients are chosen and
weighted; end to end on synthetic data with each client's held-out split, its report and
answers."""

import json
import os
from unittest import mock

import tensorflow as tf

from tests.report_checks import assert_every_question_answered
from tff_course.course import course_experiment, plan_arms, run_course_experiment
from tff_course.course import selection_course
from tff_course.course.settings import FULL
from tff_course.experiment.metrics_file import read_metrics

SELECTION_FIELDS = ("selection", "selection_alpha", "selection_weights", "power_of_choice")


class SelectionCourseTest(tf.test.TestCase):

  def test_arms_differ_only_in_selection(self):
    for setting, seeds in (("default", selection_course.SEEDS),
                           (FULL, selection_course.FULL_SEEDS)):
      planned = plan_arms(course_experiment("selection"), setting=setting)
      self.assertLen(planned, len(seeds) * len(selection_course.METHODS))
      rest = set()
      for arm in planned:
        described = arm.config.to_dict()
        for field in SELECTION_FIELDS + ("seed",):
          described["train"].pop(field)
        rest.add(json.dumps(described, sort_keys=True).replace(arm.key, ""))
      self.assertLen(rest, 1)
      self.assertEqual({a.config.data.client_holdout for a in planned},
                       {selection_course.HOLDOUT})

  def test_runs_and_reports_the_clients_spread(self):
    run_dir = self.create_tempdir().full_path
    with mock.patch.multiple(selection_course, DATASET="synthetic", MODEL="mlp", CLIENTS=30,
                             LOCAL_STEPS=2, ROUNDS=2, EVAL_EVERY=1, SEEDS=(0,)):
      experiment = course_experiment("selection")
      report = run_course_experiment(experiment, run_dir,
                                     overrides=["data.partition=natural"], progress=False)
    with open(report, encoding="utf-8") as stream:
      text = stream.read()
    assert_every_question_answered(self, text)
    self.assertIn("clients' 10th percentile", text)
    self.assertTrue(os.path.isfile(os.path.join(run_dir, "curves.png")))
    chosen = read_metrics(os.path.join(run_dir, "power-of-choice-s0"))
    self.assertEqual(list(chosen["candidates"]), [selection_course.CANDIDATES] * 2)
    for key in ("uniform-s0", "available-unbiased-s0"):
      metrics = read_metrics(os.path.join(run_dir, key))
      self.assertTrue(all(0 <= v <= 1 for v in metrics["client_accuracy_p10"]))


if __name__ == "__main__":
  tf.test.main()
