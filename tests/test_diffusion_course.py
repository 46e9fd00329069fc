"""The diffusion course's measurements and report: per-setting summaries of the
prompt-to-prompt sweep and paired standard errors against NumPy, the verdicts' rules,
the report's sections, and a run directory that refuses other settings."""

import json
import math
import os

import numpy as np
import tensorflow as tf

from tasks.diffusion.course import JUDGE_DIR, CourseConfig, judge_for, run_course
from tasks.diffusion.course_dreambooth import BEFORE, WITH_PRIOR, WITHOUT_PRIOR
from tasks.diffusion.course_edits import REGENERATED, save_sweep_plot, setting_summary
from tasks.diffusion.course_report import (course_report, edit_verdict, fidelity_answer,
                                           paired)
from tasks.diffusion.judge import Judge, build_classifier
from tff_course.course.questions import NOT_REPRODUCED, REPRODUCED, WITHIN_NOISE
from tff_course.errors import ConfigError


def sweep_rows(ssim_gain=0.2, hits=(True, True, True, True)):
  rows = []
  for seed, hit in enumerate(hits):
    base = 0.2 + 0.01 * seed
    rows.append(dict(source="a", target="b", seed=seed, setting=REGENERATED,
                     is_target=True, ssim=base, pixel_distance=0.1))
    rows.append(dict(source="a", target="b", seed=seed, setting=0.5, is_target=hit,
                     ssim=base + ssim_gain + 0.02 * (seed % 2), pixel_distance=0.05))
  return rows


class SweepSummaryTest(tf.test.TestCase):

  def test_rates_and_paired_gains_against_numpy(self):
    summary = setting_summary(sweep_rows(hits=(True, False, True, True)))
    self.assertEqual(list(summary), [REGENERATED, "0.5"])
    row = summary["0.5"]
    gains = 0.2 + 0.02 * (np.arange(4) % 2)
    self.assertAllClose([row["target_rate"], row["target_rate_se"]],
                        [0.75, math.sqrt(0.75 * 0.25 / 4)])
    self.assertAllClose([row["ssim_gain"], row["ssim_gain_se"]],
                        [gains.mean(), gains.std(ddof=1) / 2])
    self.assertEqual(summary[REGENERATED]["ssim_gain"], 0.0)

  def test_paired_difference_and_its_standard_error(self):
    mean, error = paired([3.0, 5.0, 4.0], [1.0, 2.0, 2.0])
    self.assertAllClose([mean, error], [7 / 3, np.std([2, 3, 2], ddof=1) / math.sqrt(3)])
    self.assertTrue(math.isnan(paired([1.0], [0.0])[1]))

  def test_the_edit_verdict_needs_closer_and_as_often_the_new_class(self):
    self.assertEqual(edit_verdict(setting_summary(sweep_rows()), "0.5"), REPRODUCED)
    self.assertEqual(edit_verdict(setting_summary(sweep_rows(ssim_gain=-0.2)), "0.5"),
                     NOT_REPRODUCED)
    never = setting_summary(sweep_rows(hits=(False,) * 4))
    self.assertEqual(edit_verdict(never, "0.5"), NOT_REPRODUCED)
    noisy = [dict(row, ssim=row["ssim"] + (0.3 if row["seed"] % 2 else -0.3))
             if row["setting"] != REGENERATED else row for row in sweep_rows(0.01)]
    self.assertEqual(edit_verdict(setting_summary(noisy), "0.5"), WITHIN_NOISE)

  def test_the_sweep_plot_is_a_png(self):
    path = os.path.join(self.create_tempdir().full_path, "sweep.png")
    save_sweep_plot(setting_summary(sweep_rows()), path, tau_cross=0.8)
    with open(path, "rb") as stream:
      self.assertEqual(stream.read(8), b"\x89PNG\r\n\x1a\n")


def dreambooth_results(identifier_gap):
  rng = np.random.default_rng(0)
  base = 9 + rng.standard_normal(16)
  run = lambda cls, gap, diversity: dict(  # noqa: E731
      class_distances=list(cls), identifier_distances=list(cls - gap),
      class_diversity=diversity, class_accuracy=1.0, identifier_class_accuracy=1.0)
  return {BEFORE: run(base, 0.0, 9.5), WITH_PRIOR: run(base - 0.1, identifier_gap, 9.2),
          WITHOUT_PRIOR: run(base - 3.0, 0.0, 4.0)}


class ReportTest(tf.test.TestCase):

  def test_fidelity_is_reproduced_only_when_sks_samples_are_closer(self):
    self.assertEqual(fidelity_answer(dreambooth_results(0.5)).verdict, REPRODUCED)
    self.assertEqual(fidelity_answer(dreambooth_results(-0.5)).verdict, NOT_REPRODUCED)

  def test_the_report_answers_each_measured_experiment(self):
    config = CourseConfig(samples_per_class=10)
    results = {"judge_test_accuracy": 0.9,
               "class_accuracy": {"bag": 0.9, "shirt": 0.6},
               "dreambooth": dreambooth_results(0.5),
               "prompt_to_prompt": {"summary": setting_summary(sweep_rows())}}
    report = course_report(results, config)
    self.assertEqual(report.count("- Verdict: **"), 4)
    self.assertIn("75.0% +- 9.7% of 20 samples (lowest: shirt, 60%)", report)
    self.assertIn("Verdict: **within noise**", report)
    only_edits = course_report({"judge_test_accuracy": 0.9,
                                "prompt_to_prompt": results["prompt_to_prompt"]}, config)
    self.assertEqual(only_edits.count("- Verdict: **"), 1)
    self.assertNotIn("## DreamBooth", only_edits)


class CourseSettingsTest(tf.test.TestCase):

  def test_bad_settings_are_one_line(self):
    with self.assertRaisesRegex(ConfigError, r"^tau_self: got 0.3, expected one of "
                                             r"tau_self_sweep"):
      CourseConfig(tau_self=0.3)
    with self.assertRaisesRegex(ConfigError, r"^tau_cross: got 1.5, expected a fraction"):
      CourseConfig(tau_cross=1.5)
    with self.assertRaisesRegex(ConfigError, r"^edit_seeds: got 0"):
      CourseConfig(edit_seeds=0)

  def test_a_cached_judge_of_other_settings_is_refused(self):
    out = self.create_tempdir().full_path
    Judge(build_classifier((32, 32, 1), 10), dataset="fashion_mnist",
          label_names=[str(i) for i in range(10)], test_accuracy=0.5, seed=0,
          epochs=2).save(os.path.join(out, JUDGE_DIR))
    with self.assertRaisesRegex(ConfigError, r"judge: a judge trained with seed 0 for 2 "
                                             r"epochs, expected seed 0 and 3 epochs; remove"):
      judge_for(out, "fashion_mnist", None, CourseConfig())
    self.assertEqual(judge_for(out, "fashion_mnist", None,
                               CourseConfig(judge_epochs=2)).epochs, 2)

  def test_unknown_experiments_and_another_runs_folder_are_refused_before_work(self):
    out = self.create_tempdir().full_path
    with self.assertRaisesRegex(ConfigError, r"^experiments: got \['painting'\]"):
      run_course(out, "no-model", experiments=["painting"])
    with open(os.path.join(out, "config.json"), "w") as stream:
      json.dump({"model": "other"}, stream)
    with self.assertRaisesRegex(ConfigError, r"^--out: .* holds a course run with other "
                                             r"settings \(.*model"):
      run_course(out, "no-model")
    self.assertEqual(os.listdir(out), ["config.json"])


if __name__ == "__main__":
  tf.test.main()
