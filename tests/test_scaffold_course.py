"""The scaffold course experiment: every method takes the same local steps on the same
clients; end to end on synthetic data, its report, answers and resume."""

import json
import os
from unittest import mock

import tensorflow as tf

from tests.report_checks import assert_every_question_answered
from tff_course.course import course_experiment, plan_arms, run_course_experiment
from tff_course.course import scaffold_course
from tff_course.course.settings import FULL
from tff_course.experiment.client_states import STATES_DIR
from tff_course.experiment.metrics_file import read_metrics


class ScaffoldCourseTest(tf.test.TestCase):

  def test_methods_differ_only_in_their_correction(self):
    for setting, seeds in (("default", scaffold_course.SEEDS),
                           (FULL, scaffold_course.FULL_SEEDS)):
      planned = plan_arms(course_experiment("scaffold"), setting=setting)
      self.assertLen(planned, len(seeds) * len(scaffold_course.METHODS))
      local = {(a.config.train.steps, a.config.train.batch_size, a.config.train.client_lr,
                a.config.train.client_fraction,
                json.dumps(a.config.to_dict()["data"], sort_keys=True)) for a in planned}
      self.assertLen(local, 1)
      self.assertEqual({a.config.train.algorithm for a in planned},
                       {"fedavg", "fedprox", "scaffold"})
      self.assertEqual({a.config.train.scaffold_option for a in planned
                        if a.config.train.algorithm == "scaffold"}, {"I", "II"})

  def test_runs_reports_and_resumes(self):
    run_dir = self.create_tempdir().full_path
    with mock.patch.multiple(scaffold_course, DATASET="synthetic", MODEL="mlp", CLIENTS=30,
                             LOCAL_STEPS=3, ROUNDS=2, EVAL_EVERY=1, SEEDS=(0,)):
      experiment = course_experiment("scaffold")
      report = run_course_experiment(experiment, run_dir,
                                     overrides=["data.partition=natural"], progress=False)
      with open(report, encoding="utf-8") as stream:
        text = stream.read()
      before = read_metrics(os.path.join(run_dir, "scaffold-ii-s0"))
      run_course_experiment(experiment, run_dir, overrides=["data.partition=natural"],
                            progress=False)
    assert_every_question_answered(self, text)
    self.assertTrue(os.path.isfile(os.path.join(run_dir, "curves.png")))
    self.assertIn("SCAFFOLD, option I", text)
    self.assertAllEqual(read_metrics(os.path.join(run_dir, "scaffold-ii-s0"))["seconds"],
                        before["seconds"])
    self.assertTrue(os.path.isdir(os.path.join(run_dir, "scaffold-i-s0", STATES_DIR)))
    self.assertFalse(os.path.isdir(os.path.join(run_dir, "fedavg-s0", STATES_DIR)))
    fedavg = read_metrics(os.path.join(run_dir, "fedavg-s0"))
    scaffold = read_metrics(os.path.join(run_dir, "scaffold-i-s0"))
    self.assertAllClose(scaffold["bytes_up"], 2 * fedavg["bytes_up"], rtol=1e-3)


if __name__ == "__main__":
  tf.test.main()
