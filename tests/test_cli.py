import json
import os
import subprocess
import sys
from unittest import mock

import numpy as np
import tensorflow as tf

from tests.cli_runner import run_main
from tests.shared_data import requires_data, shared_data_dir
from tff_course.cli.main import main

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_cli(*argv):
  """Runs the CLI in-process; returns (exit status, stdout, stderr)."""
  return run_main(main, *argv)


class HelpTest(tf.test.TestCase):

  def test_every_command_has_help(self):
    for argv, expected in ((["--help"], "data"), (["data", "--help"], "summary"),
                           (["data", "summary", "--help"], "--partition"),
                           (["data", "list", "--help"], "--data-dir")):
      status, out, _ = run_cli(*argv)
      self.assertEqual(status, 0, argv)
      self.assertIn(expected, out)

  def test_module_entry_point(self):
    result = subprocess.run([sys.executable, "-m", "tff_course", "--help"], cwd=REPO,
                            capture_output=True, text=True, timeout=120, check=False)
    self.assertEqual(result.returncode, 0, result.stderr)
    self.assertIn("usage: tff-course", result.stdout)


class DataSummaryTest(tf.test.TestCase):

  def test_synthetic_without_data_dir_writes_heatmap_and_record(self):
    out = self.create_tempdir().full_path
    with mock.patch.dict(os.environ, {"TFF_COURSE_DATA_DIR": ""}):
      status, stdout, stderr = run_cli("data", "summary", "--dataset", "synthetic",
                                       "--dataset-option", "alpha=0.5", "--out", out)
    self.assertEqual(status, 0, stderr)
    self.assertIn("partition: natural: 30 clients", stdout)
    self.assertTrue(os.path.isfile(os.path.join(out, "heatmap.png")))
    with open(os.path.join(out, "summary.json")) as stream:
      record = json.load(stream)
    self.assertEqual(record["config"]["dataset"], "synthetic")
    self.assertEqual(record["summary"]["clients"], 30)
    self.assertIn("tensorflow", record["versions"])
    self.assertIn("alpha=0.5", record["dataset"][0])

  @requires_data("mnist")
  def test_mnist_dirichlet_from_data_dir(self):
    out = self.create_tempdir().full_path
    status, stdout, stderr = run_cli(
        "data", "summary", "--dataset", "mnist", "--partition", "dirichlet", "--alpha",
        "0.1", "--clients", "100", "--data-dir", shared_data_dir(), "--out", out)
    self.assertEqual(status, 0, stderr)
    self.assertIn("dirichlet(alpha=0.1): 100 clients, 60,000 of 60,000 examples", stdout)
    self.assertTrue(os.path.isfile(os.path.join(out, "heatmap.png")))

  def test_list_names_every_dataset(self):
    status, stdout, _ = run_cli("data", "list", "--data-dir", self.create_tempdir().full_path)
    self.assertEqual(status, 0)
    for name in ("mnist", "fashion_mnist", "cifar10", "cifar100", "shakespeare", "synthetic",
                 "synthetic_iid", "toy_iid", "toy_hetero"):
      self.assertIn(name, stdout)
    self.assertIn("generated (no files needed)", stdout)


class BadInputTest(tf.test.TestCase):

  def assert_one_line_error(self, argv, message, status=2):
    code, _, stderr = run_cli(*argv)
    self.assertEqual(code, status, stderr)
    self.assertNotIn("Traceback", stderr)
    self.assertRegex(stderr.strip().splitlines()[-1], message)

  def test_errors_are_one_line(self):
    out = self.create_tempdir().full_path
    cases = [
        (["--dataset", "nope"], "error: dataset: got 'nope', expected one of mnist"),
        (["--partition", "iid", "--clients", "0"], "error: num_clients: got 0"),
        (["--partition", "dirichlet"], "error: dirichlet partition: alpha is required"),
        (["--dataset-option", "gamma"], "expected KEY=VALUE"),
        (["--dataset-option", "gamma=1"], "unknown option 'gamma'; it accepts alpha, beta"),
        (["--dataset", "mnist", "--data-dir", os.path.join(out, "absent")],
         "--data-dir: .*absent' is not a directory"),
        (["--dataset", "mnist", "--data-dir", out], r"mnist: no data found in .* \(looked for"),
        (["--partition", "groups", "--samples-per-client", "5", "--groups", "0,1;1,2"],
         "class 1 is in group 0 and in group 1"),
    ]
    for extra, message in cases:
      with self.subTest(extra=extra):
        self.assert_one_line_error(["data", "summary", "--out", out, *extra], message)

  def test_argparse_errors_exit_2_without_traceback(self):
    self.assert_one_line_error(["data", "summary", "--partition", "zipf"], "invalid choice")

  def test_unexpected_errors_do_not_show_a_traceback(self):
    with mock.patch("tff_course.partition.make_partition", side_effect=RuntimeError("boom")):
      self.assert_one_line_error(["data", "summary", "--out", self.create_tempdir().full_path],
                                 "internal error: RuntimeError: boom", status=1)


if __name__ == "__main__":
  tf.test.main()


class TrainCommandsTest(tf.test.TestCase):

  def test_train_preset_with_overrides_then_plot(self):
    run_dir = os.path.join(self.create_tempdir().full_path, "run")
    status, stdout, stderr = run_cli("train", "demo", "--set", "train.rounds=3",
                                     "--run-dir", run_dir, "--no-progress")
    self.assertEqual(status, 0, stderr)
    self.assertIn("final round: test_accuracy", stdout)
    for name in ("metrics.csv", "curves.png", "config.json", "versions.json"):
      self.assertTrue(os.path.exists(os.path.join(run_dir, name)), name)
    with open(os.path.join(run_dir, "config.json")) as stream:
      self.assertEqual(json.load(stream)["train"]["rounds"], 3)
    again = run_cli("train", "demo", "--set", "train.rounds=3", "--run-dir", run_dir,
                    "--no-progress")
    self.assertEqual(again[0], 0, again[2])
    self.assertIn("final round: test_accuracy", again[1])
    out = os.path.join(self.create_tempdir().full_path, "both.png")
    status, stdout, stderr = run_cli("plot", run_dir, run_dir, "--baseline", run_dir,
                                     "--labels", "a,b", "--out", out)
    self.assertEqual(status, 0, stderr)
    self.assertTrue(os.path.isfile(out))

  def test_several_seeds_report_mean_and_std(self):
    run_dir = self.create_tempdir().full_path
    status, stdout, stderr = run_cli("train", "demo", "--set", "train.rounds=2",
                                     "--seeds", "0,1", "--run-dir", run_dir, "--no-progress")
    self.assertEqual(status, 0, stderr)
    self.assertIn("over 2 seeds: test_accuracy", stdout)
    with open(os.path.join(run_dir, "seeds.json")) as stream:
      summary = json.load(stream)
    accuracies = [summary["runs"][s]["test_accuracy"] for s in ("0", "1")]
    self.assertAlmostEqual(summary["mean"]["test_accuracy"], np.mean(accuracies))
    self.assertAlmostEqual(summary["std"]["test_accuracy"], np.std(accuracies))

  def test_bad_training_input_is_one_line(self):
    out = self.create_tempdir().full_path
    bad_config = os.path.join(out, "bad.json")
    with open(bad_config, "w") as stream:
      json.dump({"format_version": 99}, stream)
    cases = [
        (["train", "nope.json"], "config: 'nope.json' is neither a file nor a preset"),
        (["train", bad_config], "written by a newer version: upgrade tff-course"),
        (["train", "demo", "--set", "train.algorithm=fedfoo"],
         "train.algorithm: got 'fedfoo', expected one of fedavg, fedprox, fedsgd"),
        (["train", "demo", "--set", "train.client_fraction=1.5"],
         r"train.client_fraction: got 1.5, expected a fraction in \(0, 1\]"),
        (["train", "demo", "--set", "train.rounds=0"], "train.rounds: got 0"),
        (["train", "demo", "--set", "data.dataset=imagenet"], "dataset: got 'imagenet'"),
        (["train", "demo", "--set", "train.speed=3"], "train has no field 'speed'"),
        (["train", "demo", "--set", "train.trim_fraction=abc"],
         "train.trim_fraction: got 'abc', expected a number"),
        (["train", "demo", "--set", "train.client_lr=fast"],
         "train.client_lr: got 'fast', expected a number"),
        (["train", "demo", "--set", "data.samples_per_client=2.5"],
         "data.samples_per_client: got 2.5, expected a whole number or null"),
        (["train", "demo", "--seeds", "a,b"], "--seeds: got 'a,b'"),
        (["plot", out], "no metrics.csv"),
    ]
    for argv, message in cases:
      with self.subTest(argv=argv):
        code, _, stderr = run_cli(*argv, *(["--run-dir", out] if argv[0] == "train" else []))
        self.assertEqual(code, 2, stderr)
        self.assertNotIn("Traceback", stderr)
        self.assertRegex(stderr.strip().splitlines()[-1], message)
