import json
import os
import subprocess
import sys
from unittest import mock

import numpy as np
import tensorflow as tf

from pruning.cli import main
from pruning.export import load_h5, save_h5
from pruning.reference import CLASSES, VALIDATION_PER_CLASS, load_task
from tests.cli_runner import check_help_spellings, check_out_spellings, run_main
from tests.fake_cifar import write_fake_cifar10
from tests.shared_data import requires_data, shared_data_dir
from tests.test_pruning_export import pruned_reference

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_cli(*argv):
  """Runs the CLI in-process; returns (exit status, stdout, stderr)."""
  return run_main(main, *argv)


class HelpTest(tf.test.TestCase):

  def test_every_command_has_help(self):
    for argv, expected in ((["--help"], "score = (accuracy + zero parameters"),
                           (["train", "--help"], "--data-dir"),
                           (["score", "--help"], "MODEL.h5"),
                           (["prune", "--help"], "--fine-tune-epochs"),
                           (["frontier", "--help"], "--no-tfmot")):
      status, out, _ = run_cli(*argv)
      self.assertEqual(status, 0, argv)
      self.assertIn(expected, out)

  def test_methods_lists_ours_and_the_reference(self):
    status, out, _ = run_cli("methods")
    self.assertEqual(status, 0)
    for name in ("global_magnitude", "gradual_magnitude", "l1_filters", "snip",
                 "tfmot_prune_low_magnitude"):
      self.assertIn(name, out)

  def test_module_entry_point(self):
    result = subprocess.run([sys.executable, "-m", "pruning", "score", "absent.h5"],
                            cwd=REPO, capture_output=True, text=True, check=False,
                            env=dict(os.environ, PYTHONPATH=REPO))
    self.assertEqual(result.returncode, 2)
    self.assertEqual(result.stderr.strip().splitlines()[-1],
                     "pruning: error: absent.h5: no such file")


class OutOptionTest(tf.test.TestCase):
  """--out is where every command writes; --output-dir and --output still work, with a
  note."""

  def test_help_shows_out_and_not_the_old_spellings(self):
    for argv in (["train"], ["prune"], ["frontier"]):
      check_help_spellings(self, run_cli, argv, "--out", ["--output-dir", "--output"])

  def test_every_spelling_reaches_the_same_destination(self):
    prune = ["prune", "m.h5", "--method", "snip", "--sparsity", "0.5"]
    for argv, spellings in ((["train"], ["--out", "--output-dir"]), (prune, ["--out", "--output"]),
                            (["frontier", "m.h5"], ["--out", "--output-dir"])):
      check_out_spellings(self, run_cli, "pruning", argv, spellings)

  def test_prune_needs_out(self):
    status, _, err = run_cli("prune", "m.h5", "--method", "snip", "--sparsity", "0.5")
    self.assertEqual(status, 2)
    self.assertIn("pruning prune: error: one of the arguments --out is required", err)


class BadInputTest(tf.test.TestCase):

  def test_corrupt_file_is_one_line_and_status_2(self):
    path = os.path.join(self.create_tempdir().full_path, "bad.h5")
    with open(path, "wb") as stream:
      stream.write(b"not hdf5")
    status, _, err = run_cli("score", path)
    self.assertEqual(status, 2)
    self.assertRegex(err, r"^pruning: error: .*bad.h5: not a readable Keras .h5 file")
    self.assertEqual(len(err.strip().splitlines()), 1)

  def test_bad_sparsity_and_method(self):
    directory = self.create_tempdir().full_path
    model = save_h5(pruned_reference(), os.path.join(directory, "m.h5"))
    out = os.path.join(directory, "out.h5")
    for extra, message in ((["--method", "snip", "--sparsity", "1.0"],
                            "target sparsity: got 1.0, expected a number in [0, 1)"),
                           (["--method", "obd", "--sparsity", "0.5"],
                            "method: got 'obd', expected one of"),
                           (["--method", "snip", "--sparsity", "0.5", "--snip-epochs", "-2"],
                            "snip_epochs: got -2")):
      status, _, err = run_cli("prune", model, "--out", out,
                               "--data-dir", self.create_tempdir().full_path, *extra)
      self.assertEqual(status, 2, err)
      self.assertIn(message, err)
    self.assertFalse(os.path.exists(out))

  def test_output_paths_are_checked_before_any_work(self):
    directory = self.create_tempdir().full_path
    model = save_h5(pruned_reference(), os.path.join(directory, "m.h5"))
    empty = self.create_tempdir().full_path
    under = os.path.join(model, "out.h5")
    a_dir = os.path.join(self.create_tempdir().full_path, "dir.h5")
    os.mkdir(a_dir)
    for argv, message in (
        (["prune", model, "--method", "snip", "--sparsity", "0.5", "--out", under],
         f"--out: got '{under}', which lies under the file '{model}'"),
        (["prune", model, "--method", "snip", "--sparsity", "0.5", "--out", a_dir],
         f"--out: got '{a_dir}', which is a directory"),
        (["train", "--out", model], f"--out: got '{model}', which is a file"),
        (["frontier", model, "--out", under], "--out: got .*lies under the file")):
      with self.subTest(argv=argv):
        status, _, err = run_cli(*argv, "--data-dir", empty)
        self.assertEqual(status, 2, err)
        self.assertRegex(err, f"^pruning: error: {message}")
        self.assertLen(err.strip().splitlines(), 1)
    self.assertEqual(os.listdir(directory), ["m.h5"])

  def test_missing_data_dir(self):
    path = save_h5(pruned_reference(), os.path.join(self.create_tempdir().full_path, "m.h5"))
    status, _, err = run_cli("score", path, "--data-dir", "/nonexistent/dir")
    self.assertEqual(status, 2)
    self.assertIn("--data-dir: '/nonexistent/dir' is not a directory", err)


class ScorePruneTest(tf.test.TestCase):
  """On a fake CIFAR-10 (no dataset files needed): the counts do not depend on the images."""

  def test_score_and_prune_round_trip(self):
    directory = self.create_tempdir().full_path
    model = save_h5(pruned_reference(), os.path.join(directory, "m.h5"))
    data_dir = write_fake_cifar10(os.path.join(directory, "data"))
    status, out, err = run_cli("score", model, "--data-dir", data_dir)
    self.assertEqual(status, 0, err)
    # A fresh initialisation's 318 biases are zero, and every parameter counts.
    self.assertRegex(out, r"sparsity 0\.8438 \(500,318 of 592,958 parameters are zero\)")
    out_path = os.path.join(directory, "pruned.h5")
    status, out, err = run_cli("prune", model, "--method", "global_magnitude",
                               "--sparsity", "0.9", "--fine-tune-epochs", "0",
                               "--out", out_path, "--data-dir", data_dir)
    self.assertEqual(status, 0, err)
    self.assertIn("(reloaded: same score)", out)
    self.assertIn("533,981 of 592,958", out)
    self.assertEqual(load_h5(out_path).count_params(), 592_958)


class ScoreReadsTest(tf.test.TestCase):
  """`score` needs CIFAR-10's test batch only, not the 150 MB of training batches."""

  def setUp(self):
    super().setUp()
    directory = self.create_tempdir().full_path
    self.model = save_h5(pruned_reference(), os.path.join(directory, "m.h5"))
    self.data_dir = write_fake_cifar10(os.path.join(directory, "data"))
    self.folder = os.path.join(self.data_dir, "cifar10", "cifar-10-batches-py")

  def test_only_meta_and_test_batch_are_opened(self):
    opened = []
    real_open = open

    def spy(file, *args, **kwargs):
      opened.append(file)
      return real_open(file, *args, **kwargs)

    with mock.patch("builtins.open", spy):
      status, out, err = run_cli("score", self.model, "--data-dir", self.data_dir)
    self.assertEqual(status, 0, err)
    self.assertIn("of 100 test images", out)
    read = sorted(os.path.relpath(path, self.folder) for path in opened
                  if isinstance(path, str) and path.startswith(self.data_dir))
    self.assertEqual(read, ["batches.meta", "test_batch"])

  def test_score_without_training_batches(self):
    for index in range(1, 6):
      os.remove(os.path.join(self.folder, f"data_batch_{index}"))
    status, out, err = run_cli("score", self.model, "--data-dir", self.data_dir)
    self.assertEqual(status, 0, err)
    self.assertRegex(out, r"accuracy \d\.\d{4} \(\d+ of 100 test images\)\n"
                          r"sparsity 0\.8438 \(500,318 of 592,958 parameters are zero\)")


@requires_data("cifar10")
class RealDataTest(tf.test.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.data = load_task(shared_data_dir())

  def test_reference_task_splits(self):
    data = self.data
    self.assertEqual(len(data.label_names), len(CLASSES))
    self.assertAllEqual(np.bincount(data.validation.y), [VALIDATION_PER_CLASS] * 5)
    self.assertAllEqual(np.bincount(data.train.y), [5000 - VALIDATION_PER_CLASS] * 5)
    self.assertEqual(set(np.unique(data.test.y)), set(range(5)))
    self.assertEqual(data.train.x.dtype, np.float32)
    self.assertBetween(float(data.train.x.max()), 0.99, 1.0)
    self.assertGreaterEqual(float(data.train.x.min()), 0.0)

  def test_train_writes_model_metrics_and_config(self):
    directory = self.create_tempdir().full_path
    status, out, err = run_cli("train", "--epochs", "1", "--data-dir", shared_data_dir(),
                               "--out", directory, "--batch-size", "256")
    self.assertEqual(status, 0, err)
    self.assertRegex(out, r"epoch   1 .*test 0\.\d{4}")
    with open(os.path.join(directory, "config.json"), encoding="utf-8") as stream:
      config = json.load(stream)
    self.assertEqual(config["settings"]["epochs"], 1)
    self.assertIn("tensorflow", config["versions"])
    self.assertEqual(config["data"]["validation"], 2500)
    self.assertTrue(os.path.isfile(os.path.join(directory, "reference.h5")))
    status, _, err = run_cli("train", "--epochs", "2", "--data-dir", shared_data_dir(),
                             "--out", directory)
    self.assertEqual(status, 2)
    self.assertIn("holds a run with other settings", err)


if __name__ == "__main__":
  tf.test.main()
