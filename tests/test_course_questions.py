"""The assignment's questions: verdicts, the CIFAR experiments' answers from metrics
files, the assignment settings' numbers, and `experiment all`'s index."""

import json
import os
from unittest import mock

import numpy as np
import tensorflow as tf

from tests.metrics_files import write_metrics
from tests.report_checks import assert_every_question_answered
from tests.test_cli import run_cli
from tff_course.course import course_experiment, plan_arms
from tff_course.course import questions as q
from tff_course.course.every_experiment import Entry, run_every_experiment
from tff_course.course.results import Results
from tff_course.errors import ConfigError


class VerdictTest(tf.test.TestCase):

  def test_sign_verdict_needs_two_standard_errors(self):
    self.assertEqual(q.sign_verdict(0.05, 0.01), q.REPRODUCED)
    self.assertEqual(q.sign_verdict(0.015, 0.01), q.WITHIN_NOISE)
    self.assertEqual(q.sign_verdict(-0.05, 0.01), q.NOT_REPRODUCED)
    self.assertEqual(q.sign_verdict(float("nan"), 0.01), q.NOT_REPRODUCED)

  def test_equal_and_bound_verdicts(self):
    self.assertEqual(q.equal_verdict(0.01, 0.01), q.REPRODUCED)
    self.assertEqual(q.equal_verdict(-0.03, 0.01), q.NOT_REPRODUCED)
    self.assertEqual(q.bound_verdict(-0.008, 0.01, 0.02), q.REPRODUCED)
    self.assertEqual(q.bound_verdict(-0.03, 0.01, 0.02), q.WITHIN_NOISE)
    self.assertEqual(q.bound_verdict(-0.06, 0.01, 0.02), q.NOT_REPRODUCED)

  def test_standard_errors(self):
    self.assertAlmostEqual(q.accuracy_standard_error(0.5, 1000), 0.0158, places=4)
    self.assertAlmostEqual(q.difference_standard_error(0.5, 0.5, 1000),
                           0.0158 * np.sqrt(2), places=4)
    self.assertTrue(np.isnan(q.accuracy_standard_error(float("nan"), 10)))

  def test_answers_are_checked(self):
    with self.assertRaisesRegex(ValueError, "verdict: got 'maybe'"):
      q.Answer("Q?", "42", "maybe")
    with self.assertRaisesRegex(ValueError, "needs the reference"):
      q.Answer("Q?", "42", q.REPRODUCED)
    with self.assertRaisesRegex(ValueError, "the answer is empty"):
      q.Answer("Q?", " ")

  def test_section_lists_every_question_with_its_answer(self):
    text = q.questions_section([q.Answer("First?", "1 %", q.REPRODUCED, "2 %"),
                                q.Answer("Second?", "3 %")])
    answers = assert_every_question_answered(self, text)
    self.assertEqual(answers["First?"], {"Measured": "1 %", "Reference solution": "2 %",
                                         "Verdict": "**reproduced**"})
    self.assertEqual(answers["Second?"]["Verdict"], "**measured**")


def fake_results(test, name, finals, test_size=1000):
  """Results of the experiment's arms (rounds=2) whose last round has `finals[key]`
  (extra metrics columns) and test accuracy."""
  run_dir = test.create_tempdir().full_path
  arms = plan_arms(course_experiment(name), rounds=2)
  for arm in arms:
    last = {"test_accuracy": 0.5, **finals.get(arm.key, {})}
    common = {"train_loss": 1.0, "messages_up": 10, "messages_down": 10,
              "bytes_up": last.pop("bytes_up", 4000), "seconds": 1.0, "examples": 500,
              "clients": 10}
    first = {key: 0.1 for key in last}
    write_metrics(os.path.join(run_dir, arm.key),
                  [{"round": 1, **common, **first}, {"round": 2, **common, **last}])
  return Results(run_dir, tuple(arms), test_sizes={arm.key: test_size for arm in arms})


def groups(*values):
  return {f"test_group_{g}_accuracy": v for g, v in enumerate(values)}


class CifarAnswersTest(tf.test.TestCase):

  def verdicts(self, name, finals):
    experiment = course_experiment(name)
    answers = experiment.questions(fake_results(self, name, finals))
    self.assertNotEmpty(answers)
    text = q.questions_section(answers)
    assert_every_question_answered(self, text)
    return [answer.verdict for answer in answers]

  def test_quantized_verdicts_follow_the_numbers(self):
    close = {"bits-32": {"test_accuracy": .60, "bytes_up": 4000},
             "bits-16": {"test_accuracy": .605, "bytes_up": 2000},
             "bits-4": {"test_accuracy": .595, "bytes_up": 500}}
    self.assertEqual(self.verdicts("quantized", close)[:2], [q.REPRODUCED, q.REPRODUCED])
    far = {**close, "bits-16": {"test_accuracy": .50}, "bits-4": {"test_accuracy": .40}}
    self.assertEqual(self.verdicts("quantized", far)[:2],
                     [q.NOT_REPRODUCED, q.NOT_REPRODUCED])
    untrained = {key: {"test_accuracy": .094} for key in close}
    self.assertEqual(self.verdicts("quantized", untrained)[:2],
                     [q.WITHIN_NOISE, q.WITHIN_NOISE])

  def test_group_fairness_finds_the_group_left_behind(self):
    fair = {"test_accuracy": .6, **groups(.6, .6, .6)}
    left = {"fair": fair, "unfair": {"test_accuracy": .5, **groups(.9, .5, .1)},
            "unfair-group-mean": {"test_accuracy": .55, **groups(.7, .6, .4)}}
    self.assertEqual(self.verdicts("group-fairness", left)[1], q.REPRODUCED)
    other = {**left, "unfair": {"test_accuracy": .5, **groups(.9, .1, .5)}}
    self.assertEqual(self.verdicts("group-fairness", other)[1], q.NOT_REPRODUCED)
    tied = {**left, "unfair": {"test_accuracy": .3, **groups(.9, .0, .0)}}
    self.assertEqual(self.verdicts("group-fairness", tied)[1], q.REPRODUCED)

  def test_single_device_gap(self):
    finals = {"single-device": {"test_accuracy": .45}, "centralized": {"test_accuracy": .70}}
    self.assertEqual(self.verdicts("single-device", finals), [q.MEASURED, q.REPRODUCED])
    finals = {"single-device": {"test_accuracy": .45}, "centralized": {"test_accuracy": .46}}
    self.assertEqual(self.verdicts("single-device", finals)[1], q.WITHIN_NOISE)

  def test_fedavg_cifar_is_measured(self):
    self.assertEqual(set(self.verdicts("fedavg-cifar", {})), {q.MEASURED})


class AssignmentSettingsTest(tf.test.TestCase):
  """The --assignment arms carry the numbers the assignments state."""

  def test_cifar_experiments_use_the_assignments_numbers(self):
    expected = {  # experiment: {arm: (rounds or epochs, C, bits)}
        "single-device": {"single-device": (100, None, None)},
        "fedavg-cifar": {"fedavg": (100, 0.1, None)},
        "group-fairness": {"fair": (100, None, None), "unfair": (100, None, None)},
        "quantized": {"bits-32": (100, 0.1, 32), "bits-16": (100, 0.1, 16),
                      "bits-4": (100, 0.1, 4)},
    }
    for name, arms in expected.items():
      planned = {arm.key: arm.config.train
                 for arm in plan_arms(course_experiment(name), setting="assignment")}
      for key, (rounds, fraction, bits) in arms.items():
        train = planned[key]
        self.assertEqual(train.rounds, rounds, (name, key))
        if fraction is not None:
          self.assertEqual(train.client_fraction, fraction, (name, key))
        if bits is not None:
          self.assertEqual((train.aggregator, train.quant_bits), ("quantized", bits))
    single = {a.key: a.config for a in plan_arms(course_experiment("single-device"),
                                                 setting="assignment")}
    self.assertEqual(single["single-device"].data.samples_per_client, 5000)

  def test_every_experiment_explains_its_assignment_setting(self):
    from tff_course.course import EXPERIMENTS
    for name, experiment in EXPERIMENTS.items():
      self.assertGreater(len(experiment.assignment), 40, name)

  def test_unknown_setting(self):
    with self.assertRaisesRegex(ConfigError, "setting: got 'huge', expected one of "
                                             "default, full, assignment"):
      plan_arms(course_experiment("quantized"), setting="huge")


def fake_entry(name, verdicts, calls):
  def run(directory, **options):
    calls.append((name, options["setting"]))
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "answers.json"), "w") as stream:
      json.dump([{"verdict": v} for v in verdicts], stream)
    path = os.path.join(directory, "report.md")
    with open(path, "w") as stream:
      stream.write(f"# {name}\n")
    return path
  return Entry(name, f"the {name} experiment", run)


def failing_entry(name):
  def run(directory, **options):
    raise ConfigError("data.dataset: the files are not there")
  return Entry(name, "fails", run)


class EveryExperimentTest(tf.test.TestCase):

  def test_index_links_reports_counts_verdicts_and_adds_up_time(self):
    parent = self.create_tempdir().full_path
    calls = []
    entries = [fake_entry("one", ["reproduced", "measured", "reproduced"], calls),
               failing_entry("two"), fake_entry("three", ["within noise"], calls)]
    index, failed = run_every_experiment(parent, setting="assignment", entries=entries,
                                         progress=False)
    self.assertEqual(failed, ["two"])
    self.assertEqual(os.path.basename(index), "index-assignment.md")
    self.assertEqual(calls, [("one", "assignment"), ("three", "assignment")])
    with open(index) as stream:
      text = stream.read()
    self.assertIn("[one](one-assignment/report.md)", text)
    self.assertIn("2 reproduced, 1 measured", text)
    self.assertIn("| two | fails | failed: data.dataset: the files are not there |", text)
    self.assertIn("Failed: two", text)
    run_every_experiment(parent, setting="assignment", entries=entries, progress=False)
    with open(os.path.join(parent, "one-assignment", "timing.json")) as stream:
      self.assertEqual(json.load(stream)["invocations"], 2)
    self.assertFalse(os.path.exists(os.path.join(parent, "two-assignment")))

  def test_an_interrupted_experiment_keeps_its_wall_time(self):
    parent = self.create_tempdir().full_path

    def interrupted(directory, **options):
      os.makedirs(directory)
      raise KeyboardInterrupt

    with self.assertRaises(KeyboardInterrupt):
      run_every_experiment(parent, entries=[Entry("one", "stops", interrupted)],
                           progress=False)
    with open(os.path.join(parent, "one", "timing.json")) as stream:
      self.assertEqual(json.load(stream)["invocations"], 1)

  def test_cli_runs_all_and_fails_when_one_fails(self):
    parent = os.path.join(self.create_tempdir().full_path, "course")
    calls = []
    with mock.patch("tff_course.course.every_experiment.course_entries",
                    return_value=[fake_entry("one", ["measured"], calls)]):
      status, out, err = run_cli("experiment", "all", "--full", "--out", parent,
                                 "--no-progress")
    self.assertEqual(status, 0, err)
    self.assertIn(f"index: {os.path.join(parent, 'index-full.md')}", out)
    self.assertEqual(calls, [("one", "full")])
    with mock.patch("tff_course.course.every_experiment.course_entries",
                    return_value=[failing_entry("two")]):
      status, _, err = run_cli("experiment", "all", "--out", parent, "--no-progress")
    self.assertEqual(status, 1)
    self.assertIn("1 experiment(s) failed: two", err)

  def test_cli_refuses_two_settings_and_overrides_for_all(self):
    status, _, err = run_cli("experiment", "all", "--full", "--assignment")
    self.assertEqual(status, 2)
    self.assertIn("not allowed with argument", err)
    status, _, err = run_cli("experiment", "all", "--set", "train.rounds=2")
    self.assertEqual(status, 2)
    self.assertIn("--set: 'experiment all'", err)
