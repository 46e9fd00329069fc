"""The personalization course experiment: arms differ only in the algorithm (and model); end to end on
synthetic data with each client's held-out split, fine-tuning, report and answers."""

import json
import os
from unittest import mock

import tensorflow as tf

from tests.report_checks import assert_every_question_answered
from tff_course.course import course_experiment, plan_arms, run_course_experiment
from tff_course.course import personalization
from tff_course.experiment.client_states import STATES_DIR

FIELDS = ("algorithm", "ditto_lambda", "model", "seed")


class PersonalizationCourseTest(tf.test.TestCase):

  def test_arms_differ_only_in_the_algorithm_and_model(self):
    planned = plan_arms(course_experiment("personalization"), setting="default")
    self.assertLen(planned, len(personalization.SEEDS) * len(personalization.METHODS))
    rest = set()
    for arm in planned:
      described = arm.config.to_dict()
      for field in FIELDS:
        described["train"].pop(field)
      described.pop("name")
      rest.add(json.dumps(described, sort_keys=True))
    self.assertLen(rest, 1)

  def test_runs_and_reports_each_clients_accuracy(self):
    run_dir = self.create_tempdir().full_path
    with mock.patch.multiple(personalization, DATASET="synthetic", MODEL="mlp", CLIENTS=30,
                             LOCAL_STEPS=2, ROUNDS=2, EVAL_EVERY=1, FINE_TUNE_STEPS=3,
                             SEEDS=(0,)):
      experiment = course_experiment("personalization")
      report = run_course_experiment(experiment, run_dir,
                                     overrides=["data.partition=natural"], progress=False)
    with open(report, encoding="utf-8") as stream:
      text = stream.read()
    assert_every_question_answered(self, text)
    self.assertIn(personalization.FINE_TUNED, text)
    for image in ("curves.png", "fine-tuned.png"):
      self.assertTrue(os.path.isfile(os.path.join(run_dir, image)))
    for key in ("ditto-1-s0", "fedper-s0", "fedbn-s0"):
      self.assertTrue(os.path.isdir(os.path.join(run_dir, key, STATES_DIR)))


if __name__ == "__main__":
  tf.test.main()
