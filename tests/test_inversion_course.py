"""The inversion course: its answers to the assignment's questions, the ranking verdict,
resuming, and its entry in `tff-course experiment all`."""

import json
import os
import re
import shutil
import tempfile
from unittest import mock

import tensorflow as tf

from tasks.inversion import experiment
from tasks.inversion.attack_config import AttackConfig
from tasks.inversion.course_questions import claimed_pairs, ranking_verdict, run_psnr
from tasks.inversion.report import (ANSWERS_FILE, NAME, TITLE, course_entry, run_course,
                                    run_inversion_course)
from tests.fake_cifar import write_fake_cifar10
from tests.report_checks import assert_every_question_answered
from tff_course.cli.experiment_commands import every_entries
from tff_course.course.every_experiment import Entry, run_every_experiment
from tff_course.course.questions import NOT_REPRODUCED, REPRODUCED, WITHIN_NOISE
from tff_course.errors import ConfigError

SMALL_ATTACK = AttackConfig(iterations=1, restarts=0, jit_compile=False)


class RankingVerdictTest(tf.test.TestCase):

  def test_the_reference_order_clear_of_noise_is_reproduced(self):
    psnr = {"noise": [1.0, 2.0, 3.0], "pruning": [20.0, 21.0, 23.0],
            "quantization": [10.0, 11.0, 12.5]}
    self.assertEqual(ranking_verdict(psnr), REPRODUCED)

  def test_the_reversed_order_is_not_reproduced(self):
    psnr = {"noise": [20.0, 21.0, 23.0], "pruning": [1.0, 2.0, 3.0],
            "quantization": [10.0, 11.0, 12.5]}
    self.assertEqual(ranking_verdict(psnr), NOT_REPRODUCED)

  def test_one_end_clearly_wrong_is_not_reproduced(self):
    psnr = {"noise": [10.0, 11.0, 12.0], "pruning": [20.0, 21.0, 23.0],
            "quantization": [1.0, 2.0, 3.5]}
    self.assertEqual(ranking_verdict(psnr), NOT_REPRODUCED)

  def test_close_defenses_are_within_noise(self):
    psnr = {"noise": [10.0, 11.0, 12.0], "pruning": [10.2, 10.9, 12.3],
            "quantization": [10.1, 11.2, 11.9]}
    self.assertEqual(ranking_verdict(psnr), WITHIN_NOISE)

  def test_a_single_run_has_no_standard_error(self):
    self.assertEqual(ranking_verdict({"noise": [1.0], "pruning": [30.0]}), WITHIN_NOISE)

  def test_claimed_pairs_and_capped_psnr(self):
    self.assertEqual(claimed_pairs(["noise", "pruning", "quantization"]),
                     [("noise", "pruning"), ("noise", "quantization"),
                      ("quantization", "pruning")])
    self.assertEqual(run_psnr({"mean": {"mse": 0.0}}), 100.0)
    self.assertAlmostEqual(run_psnr({"mean": {"mse": 1e-3}}), 30.0)


class CourseTest(tf.test.TestCase):
  """One image, one seed, one L-BFGS step per experiment on a fake CIFAR-10."""

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.data_dir = write_fake_cifar10(tempfile.mkdtemp())
    cls.parent = tempfile.mkdtemp()
    cls.out = os.path.join(cls.parent, NAME)
    cls.options = dict(attack=SMALL_ATTACK, image_indices=(0,), seeds=(0,),
                       data_dir=cls.data_dir)
    with mock.patch.object(experiment, "run_inversion",
                           wraps=experiment.run_inversion) as attacks:
      cls.report = run_course(cls.out, **cls.options)
    cls.first_attacks = attacks.call_count

  @classmethod
  def tearDownClass(cls):
    shutil.rmtree(cls.data_dir, ignore_errors=True)
    shutil.rmtree(cls.parent, ignore_errors=True)
    super().tearDownClass()

  def run_counting(self, **changes):
    with mock.patch.object(experiment, "run_inversion",
                           wraps=experiment.run_inversion) as attacks:
      report = run_course(self.out, **{**self.options, **changes})
    return report, attacks.call_count

  def test_every_question_has_a_measured_answer_and_a_verdict(self):
    with open(self.report, encoding="utf-8") as stream:
      text = stream.read()
    answers = assert_every_question_answered(self, text)
    self.assertLen(answers, 3)
    self.assertIn("noise the strongest inversion defense, pruning the weakest",
                  [fields.get("Reference solution") for fields in answers.values()])
    with open(os.path.join(self.out, ANSWERS_FILE), encoding="utf-8") as stream:
      answers = json.load(stream)
    self.assertEqual([a["verdict"] for a in answers], ["measured", WITHIN_NOISE, "measured"])

  def test_a_rerun_attacks_only_what_is_missing(self):
    self.assertEqual(self.first_attacks, 4)
    self.assertEqual(self.run_counting()[1], 0)
    os.remove(os.path.join(self.out, "noise", "image-0-seed-0", "recovered.npy"))
    self.assertEqual(self.run_counting()[1], 1)

  def test_another_config_in_a_run_directory_is_refused_before_any_attack(self):
    attack = AttackConfig(iterations=2, restarts=0, jit_compile=False)
    with self.assertRaisesRegex(ConfigError, "^" + re.escape(os.path.join(
        self.out, "baseline", "image-0-seed-0")) + r" holds a run of a different config "
        r"\(attack.iterations: 1 -> 2\)"):
      self.run_counting(attack=attack)

  def test_the_setting_is_reported(self):
    report, attacks = self.run_counting(setting="assignment")
    self.assertEqual(attacks, 0)
    with open(report, encoding="utf-8") as stream:
      self.assertIn("Setting: the assignment's parameters (--assignment); images and seeds "
                    "as given.", stream.read())

  def test_experiment_all_indexes_it(self):
    entry = Entry(NAME, TITLE, lambda directory, **_: run_course(directory, **self.options))
    index, failed = run_every_experiment(self.parent, entries=[entry], progress=False)
    self.assertEqual(failed, [])
    with open(index, encoding="utf-8") as stream:
      self.assertIn(f"[{NAME}]({NAME}/report.md)", stream.read())


class EntryTest(tf.test.TestCase):

  def test_experiment_all_runs_the_inversion_course_last(self):
    entries = every_entries()
    self.assertEqual(entries[-1].name, NAME)
    self.assertIs(entries[-1].run, run_inversion_course)
    self.assertEqual(course_entry().title, TITLE)

  def test_rounds_are_the_attack_steps_and_the_setting_passes_on(self):
    with mock.patch("tasks.inversion.report.run_course", return_value="r") as run:
      self.assertEqual(run_inversion_course("d", setting="full", rounds=2, progress=False),
                       "r")
    self.assertEqual(run.call_args.kwargs["attack"].iterations, 2)
    self.assertEqual(run.call_args.kwargs["setting"], "full")
    self.assertIsNone(run.call_args.kwargs["progress"])


if __name__ == "__main__":
  tf.test.main()
