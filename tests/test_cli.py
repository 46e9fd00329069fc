import json
import os
import subprocess
import sys
from unittest import mock

import numpy as np
import tensorflow as tf

from tests.cli_runner import (check_help_spellings, check_out_spellings, renamed_note,
                              run_main)
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
                                     "--out", run_dir, "--no-progress")
    self.assertEqual(status, 0, stderr)
    self.assertIn("final round: test_accuracy", stdout)
    for name in ("metrics.csv", "curves.png", "config.json", "versions.json"):
      self.assertTrue(os.path.exists(os.path.join(run_dir, name)), name)
    with open(os.path.join(run_dir, "config.json")) as stream:
      self.assertEqual(json.load(stream)["train"]["rounds"], 3)
    again = run_cli("train", "demo", "--set", "train.rounds=3", "--out", run_dir,
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
                                     "--seeds", "0,1", "--out", run_dir, "--no-progress")
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
        (["train", "demo", "--set", "train.selection=given", "--set",
          "train.selection_probabilities=[0.5, 0.5]"],
         r"train.selection_probabilities: got 2 values, expected one per client \(\d+\)"),
        (["train", "demo", "--set", "train.power_of_choice=1"],
         r"train.power_of_choice: got d = 1 candidates for m = \d+ clients a round"),
        (["train", "demo", "--set", "train.algorithm=ditto", "--set", "train.ditto_lambda=-1"],
         r"train.ditto_lambda: got -1, expected a number >= 0"),
        (["train", "demo", "--set", "train.algorithm=fedbn"],
         r"train.algorithm 'fedbn' with train.model '\w+': fedbn: model '\w+' has no batch-"),
        (["plot", out], "no metrics.csv"),
    ]
    for argv, message in cases:
      with self.subTest(argv=argv):
        code, _, stderr = run_cli(*argv, *(["--out", out] if argv[0] == "train" else []))
        self.assertEqual(code, 2, stderr)
        self.assertNotIn("Traceback", stderr)
        self.assertRegex(stderr.strip().splitlines()[-1], message)


class NothingLeftBehindTest(tf.test.TestCase):
  """Bad paths and configs: exit 2, one line naming the input, and nothing written."""

  def setUp(self):
    super().setUp()
    self.root = self.create_tempdir().full_path
    self.file = os.path.join(self.root, "a-file")
    with open(self.file, "w") as stream:
      stream.write("x")
    self.run_dir = os.path.join(self.root, "run")

  def config(self, name, raw=None, data=None, train=None):
    path = os.path.join(self.root, name)
    raw = raw or {"name": "x", "data": {"dataset": "synthetic", **(data or {})},
                  "train": {"model": "logistic", "rounds": 1, "client_fraction": 0.34,
                            **(train or {})}}
    with open(path, "w") as stream:
      json.dump(raw, stream)
    return path

  def assert_refused(self, argv, message):
    code, _, stderr = run_cli(*argv)
    self.assertEqual(code, 2, stderr)
    self.assertLen(stderr.strip().splitlines(), 1, stderr)
    self.assertRegex(stderr.strip(), "^tff-course: error: " + message)
    self.assertFalse(os.path.exists(self.run_dir), os.listdir(self.root))
    with open(self.file) as stream:
      self.assertEqual(stream.read(), "x")

  def test_run_dir_that_is_a_file_or_lies_under_one(self):
    self.assert_refused(["train", "demo", "--out", self.file],
                        f"--out: got '{self.file}', which is a file; expected a directory")
    under = os.path.join(self.file, "run")
    self.assert_refused(["demo", "--out", under],
                        f"--out: got '{under}', which lies under the file '{self.file}'")

  def test_run_dir_it_cannot_write_into(self):
    real_access = os.access
    denied = lambda path, mode: os.path.abspath(path) != self.root and real_access(path, mode)
    with mock.patch("os.access", side_effect=denied):
      self.assert_refused(["train", "demo", "--out", self.run_dir],
                          f"--out: got '{self.run_dir}', but '{self.root}' is not "
                          f"writable")

  def test_config_fields_of_the_wrong_type(self):
    latin1 = os.path.join(self.root, "latin1.json")
    with open(latin1, "wb") as stream:
      stream.write('{"name": "caf\xe9"}'.encode("latin-1"))
    cases = [
        ([self.config("name.json", raw={"name": 42})], "name: got 42, expected a non-empty"),
        ([self.config("dpg.json", train={"devices_per_group": 3})],
         "train.devices_per_group: got 3, expected an object of group: whole number"),
        ([self.config("options.json", data={"options": [1]})],
         r"data.options: got \[1\], expected an object"),
        ([self.config("groups.json", data={"groups": {"a": [1]}})],
         r"data.groups: got \{'a': \[1\]\}, expected an object of group: list of classes"),
        ([latin1], f"config: {latin1} is not UTF-8 text"),
        (["demo", "--set", "train.client_lr=Infinity"],
         "train.client_lr: got inf, expected a finite number"),
        (["demo", "--set", "train.steps=3"], "train.steps: got 3 with train.epochs 1"),
        ([self.config("option.json", data={"dataset": "synthetic_iid",
                                           "options": {"alpha": 1}})],
         "data.options: synthetic_iid: unknown option 'alpha'"),
    ]
    for argv, message in cases:
      with self.subTest(argv=argv):
        self.assert_refused(["train", *argv, "--out", self.run_dir], message)

  def test_settings_that_do_not_fit_the_data(self):
    groups = {"0": [0, 1, 2, 3, 4], "1": [5, 6, 7, 8, 9, 12]}
    cases = [
        (["demo", "--set", "train.aggregator=krum", "--set", "train.byzantine=4"],
         r"train.byzantine: got 4, but Krum needs at least 2f \+ 3 = 11 clients per round "
         r"and the run samples 10 \(train.client_fraction 0.34 of 30 clients\); expected "
         r"at most 3"),
        ([self.config("classes.json", data={"partition": "groups", "samples_per_client": 20,
                                            "groups": groups})],
         "data.groups: group 1 lists class 12, but synthetic has classes 0 to 9"),
        ([self.config("counts.json", data={"partition": "groups", "samples_per_client": 20,
                                           "groups": {"0": [0, 1, 2, 3, 4],
                                                      "1": [5, 6, 7, 8, 9]}},
                      train={"devices_per_group": {"0": 1000, "1": 1}})],
         r"train.devices_per_group: asked 1000 devices of group 0, which has \d+$"),
        (["demo", "--set", "data.partition=iid", "--set", "data.samples_per_client=100000"],
         "samples_per_client: 100 clients x 100000 examples = 10,000,000, but the split "
         "holds"),
    ]
    for argv, message in cases:
      with self.subTest(argv=argv):
        self.assert_refused(["train", *argv, "--out", self.run_dir, "--no-progress"],
                            message)

  def test_a_run_that_fails_in_its_setup_removes_the_directories_it_made(self):
    run_dir = os.path.join(self.run_dir, "a", "b")
    code, _, stderr = run_cli("train", "demo", "--set", "train.model=mnist_cnn", "--out",
                              run_dir, "--no-progress")
    self.assertEqual(code, 1, stderr)
    self.assertIn("internal error: ValueError: Input 0 of layer", stderr)
    self.assertFalse(os.path.exists(self.run_dir), os.listdir(self.root))

  def test_dataset_override_drops_the_old_datasets_options(self):
    code, stdout, stderr = run_cli("train", "demo", "--set", "data.dataset=synthetic_iid",
                                   "--set", "train.rounds=1", "--out", self.run_dir,
                                   "--no-progress")
    self.assertEqual(code, 0, stderr)
    self.assertIn("tff-course: note: data.dataset synthetic_iid does not take the options "
                  "alpha, beta of synthetic; dropped them", stderr)
    with open(os.path.join(self.run_dir, "config.json")) as stream:
      self.assertEqual(json.load(stream)["data"]["options"], {})

  def test_data_summary_out(self):
    under = os.path.join(self.file, "out")
    for out, message in ((self.file, "which is a file"), (under, "which lies under the file")):
      with self.subTest(out=out):
        self.assert_refused(["data", "summary", "--out", out], f"--out: got '{out}', {message}")

  def test_bad_dataset_option_value(self):
    self.assert_refused(["data", "summary", "--dataset-option", "alpha=abc", "--out",
                         self.run_dir], "synthetic option alpha: got 'abc', expected a number")

  def test_experiment_run_dir_that_is_a_file(self):
    self.assert_refused(["experiment", "fedsgd-fedavg", "--out", self.file],
                        f"--out: got '{self.file}', which is a file")

  @requires_data("mnist")
  def test_experiment_checks_every_run_against_its_data_before_running_any(self):
    self.assert_refused(["experiment", "fedsgd-fedavg", "--out", self.run_dir,
                         "--data-dir", shared_data_dir(), "--set", "train.aggregator=krum",
                         "--set", "train.byzantine=4", "--no-progress"],
                        r"run fedsgd-\S+: train.byzantine: got 4, but Krum needs at least "
                        r"2f \+ 3 = 11 clients per round and the run samples \d+ ")

  def test_plot_out(self):
    under = os.path.join(self.file, "curves.png")
    self.assert_refused(["plot", self.root, "--out", under],
                        f"--out: got '{under}', which lies under the file")


class OutOptionTest(tf.test.TestCase):
  """--out is where every command writes; --run-dir still works, with a note."""

  def test_help_shows_out_and_not_the_old_spelling(self):
    for argv in (["data", "summary"], ["train"], ["demo"], ["plot"], ["experiment"]):
      check_help_spellings(self, run_cli, argv, "--out", ["--run-dir"])

  def test_every_spelling_reaches_the_same_destination(self):
    for argv, spellings in ((["data", "summary"], ["--out"]),
                            (["train", "demo"], ["--out", "--run-dir"]),
                            (["demo"], ["--out", "--run-dir"]),
                            (["plot", REPO], ["--out"]),
                            (["experiment", "fedsgd-fedavg"], ["--out", "--run-dir"])):
      check_out_spellings(self, run_cli, "tff-course", argv, spellings)

  def test_old_spelling_given_twice_notes_once(self):
    out = os.path.join(self.create_tempdir().full_path, "a-file")
    with open(out, "w") as stream:
      stream.write("x")
    _, _, err = run_cli("demo", "--run-dir", "elsewhere", "--run-dir", out)
    self.assertEqual(err.splitlines()[0], renamed_note("tff-course", "--run-dir"))
    self.assertEqual(err.count("note:"), 1, err)
    self.assertIn(f"error: --out: got '{out}', which is a file", err)

  def test_both_spellings_at_once_are_refused(self):
    status, _, err = run_cli("demo", "--out", "a", "--run-dir", "b")
    self.assertEqual(status, 2)
    self.assertIn("argument --run-dir: not allowed with argument --out", err)
