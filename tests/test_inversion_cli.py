"""`tff-course invert`: a single attack's outputs, the course report, the sweep, errors."""

import functools
import json
import os
import shutil
import tempfile

import tensorflow as tf

from tasks.inversion.attacks import AttackConfig
from tasks.inversion.figures import tradeoff_plot
from tasks.inversion.sweep import TrainingConfig, sweep, sweep_table, write_sweep
from tests.cli_runner import (check_help_spellings, check_out_spellings, renamed_note,
                              run_main)
from tests.fake_cifar import write_fake_cifar10
from tff_course.cli.main import build_parser, main


def invert(*args, data_dir=""):
  return main(["invert", *args, "--data-dir", data_dir, "--no-jit"])


class InvertArgumentsTest(tf.test.TestCase):

  def test_bad_strength_is_a_one_line_error(self):
    with self.assertRaisesRegex(SystemExit, "0"):
      main(["invert", "--help"])
    self.assertEqual(main(["invert", "--defense", "quantize", "--strength", "0"]), 2)
    self.assertEqual(main(["invert", "--defense", "prune", "--strength", "2"]), 2)

  def test_out_is_checked_before_any_work(self):
    directory = tempfile.mkdtemp()
    a_file = os.path.join(directory, "a-file")
    with open(a_file, "w") as stream:
      stream.write("x")
    for mode in ("attack", "course", "sweep"):
      with self.subTest(mode=mode):
        status, _, err = run_main(main, "invert", mode, "--out", a_file, "--data-dir",
                                  directory)
        self.assertEqual(status, 2, err)
        self.assertRegex(err, f"^tff-course: error: --out: got '{a_file}', which is a file")
    self.assertEqual(os.listdir(directory), ["a-file"])

  def test_out_seeds_and_defenses_are_the_names_in_help(self):
    run_cli = functools.partial(run_main, main)
    check_out_spellings(self, run_cli, "tff-course", ["invert"], ["--out"])
    for shown, old in (("--out", []), ("--seeds", ["--seed"]), ("--defenses", ["--kinds"])):
      check_help_spellings(self, run_cli, ["invert"], shown, old)

  def test_old_seed_and_kinds_spellings_still_work_with_a_note(self):
    args, _, err = run_main(build_parser().parse_args, "invert", "--seed", "3,4")
    self.assertEqual(args.seeds, (3, 4))
    self.assertEqual(err.splitlines(), [renamed_note("tff-course", "--seed", "--seeds")])
    status, _, err = run_main(main, "invert", "sweep", "--kinds", "gaussian,nope", "--out",
                              tempfile.mkdtemp())
    self.assertEqual(status, 2, err)
    self.assertEqual(err.splitlines(), [renamed_note("tff-course", "--kinds", "--defenses"),
                                        "tff-course: error: --defenses: got 'nope', expected "
                                        "some of gaussian, laplacian, prune, quantize"])


class InvertTest(tf.test.TestCase):
  """On a fake CIFAR-10 (no dataset files needed): what is written does not depend on
  the images."""

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.data_dir = write_fake_cifar10(tempfile.mkdtemp())

  @classmethod
  def tearDownClass(cls):
    shutil.rmtree(cls.data_dir, ignore_errors=True)
    super().tearDownClass()

  def test_single_attack_writes_its_outputs(self):
    out = tempfile.mkdtemp()
    self.assertEqual(invert("--iterations", "2", "--image-index", "4,5", "--defense", "prune",
                            "--strength", "0.3", "--source", "fedsgd", "--line-search",
                            "strong_wolfe", "--restarts", "1", "--out", out,
                            data_dir=self.data_dir), 0)
    self.assertCountEqual(os.listdir(out), ["config.json", "versions.json", "metrics.json",
                                            "progress.png", "comparison.png", "recovered.npy"])
    with open(os.path.join(out, "metrics.json"), encoding="utf-8") as stream:
      metrics = json.load(stream)
    self.assertLen(metrics["images"], 2)
    self.assertEqual(metrics["steps"], 2)
    self.assertLen(metrics["attempts"], 2)
    with open(os.path.join(out, "config.json"), encoding="utf-8") as stream:
      config = json.load(stream)
    self.assertEqual(config["image_indices"], [4, 5])
    self.assertEqual(config["attack"]["lbfgs"]["line_search"], "strong_wolfe")

  def test_image_index_out_of_range(self):
    self.assertEqual(invert("--image-index", "50000", "--out", tempfile.mkdtemp(),
                            data_dir=self.data_dir), 2)

  def test_course_report(self):
    out = tempfile.mkdtemp()
    self.assertEqual(invert("course", "--iterations", "1", "--image-index", "0", "--out",
                            out, data_dir=self.data_dir), 0)
    with open(os.path.join(out, "report.md"), encoding="utf-8") as stream:
      report = stream.read()
    for section in ("baseline", "noise", "pruning", "quantization"):
      self.assertIn(f"## {section} (defense", report)
      self.assertTrue(os.path.isfile(os.path.join(out, section, "image-0-seed-0",
                                                  "progress.png")))
    self.assertIn("## The assignment's questions", report)
    self.assertTrue(os.path.isfile(os.path.join(out, "answers.json")))
    status, _, err = run_main(main, "invert", "course", "--assignment", "--iterations", "1",
                              "--image-index", "0", "--no-jit", "--out", out, "--data-dir",
                              self.data_dir)
    self.assertEqual(status, 0, err)
    with open(os.path.join(out, "report.md"), encoding="utf-8") as stream:
      self.assertIn("Setting: the assignment's parameters", stream.read())

  def test_sweep_rows_and_plot(self):
    rows = sweep({"prune": (0.5,)}, attack=AttackConfig(iterations=1, jit_compile=False),
                 training=TrainingConfig(examples=40, batch_size=20, epochs=1),
                 data_dir=self.data_dir)
    self.assertEqual([(r["defense"], r["strength"]) for r in rows], [("none", 0.0),
                                                                     ("prune", 0.5)])
    for row in rows:
      self.assertBetween(row["accuracy"], 0.0, 1.0)
    out = tempfile.mkdtemp()
    paths = write_sweep(out, rows, {"strengths": {"prune": [0.5]}})
    self.assertTrue(os.path.isfile(paths["plot"]))
    without_baseline = os.path.join(out, "defended-only.png")
    self.assertEqual(tradeoff_plot(rows[1:], without_baseline), without_baseline)
    self.assertTrue(os.path.isfile(without_baseline))
    self.assertIn("| prune | 0.5 |", sweep_table(rows))
