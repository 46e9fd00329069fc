"""`tff-course distributed local-sgd|slowmo|hybrid|async`: worker processes and the
simulation give the same run; synchronous parameter-server SGD matches one process; files
written; bad input is one line."""

import json
import os

import tensorflow as tf

from tests.cli_runner import run_main
from tff_course.cli.main import main

SMALL = ["--dataset", "synthetic_iid", "--model", "mlp", "--workers", "2", "--local-steps",
         "2", "--syncs", "3", "--batch-size", "16", "--no-progress"]


class DistributedCommandTest(tf.test.TestCase):

  def test_processes_and_simulation_agree(self):
    summaries = {}
    for mode in ("processes", "simulate"):
      out = self.create_tempdir().full_path
      extra = ["--simulate"] if mode == "simulate" else []
      status, stdout, stderr = run_main(main, "distributed", "slowmo", *SMALL, *extra,
                                        "--out", out)
      self.assertEqual(status, 0, stderr)
      self.assertRegex(stdout, r"^2 workers x 6 steps \(3 syncs of H = 2\): test accuracy "
                               r"\d+\.\d\d%")
      for name in ("job.json", "syncs.json", "summary.json", "versions.json"):
        self.assertTrue(os.path.isfile(os.path.join(out, name)), name)
      with open(os.path.join(out, "summary.json")) as stream:
        summaries[mode] = json.load(stream)
    self.assertAlmostEqual(summaries["processes"]["test_accuracy"],
                           summaries["simulate"]["test_accuracy"], places=6)
    self.assertAlmostEqual(summaries["processes"]["final_loss"],
                           summaries["simulate"]["final_loss"], places=5)

  def test_bad_input_is_one_line(self):
    out = self.create_tempdir().full_path
    for flag, value, message in (
        ("--local-steps", "0", "local_steps (H): got 0, expected an integer >= 1"),
        ("--outer-momentum", "1.5", "outer_momentum (beta): got 1.5, expected a number in "
                                    "[0, 1)"),
        ("--addresses", "127.0.0.1:1", "addresses: got 1 (127.0.0.1:1), expected 2: one for "
                                       "each of worker 0, worker 1")):
      with self.subTest(flag=flag):
        status, _, stderr = run_main(main, "distributed", "slowmo", *SMALL, flag, value,
                                     "--out", out)
        self.assertEqual(status, 2, stderr)
        self.assertEqual(stderr.strip(), f"tff-course: error: {message}")

  def test_pipeline_command_matches_one_process(self):
    import subprocess
    import sys

    out = self.create_tempdir().full_path
    result = subprocess.run(
        [sys.executable, "-m", "tff_course", "distributed", "hybrid", "--dataset",
         "synthetic_iid", "--model", "mlp", "--stages", "2", "--micro-batches", "4",
         "--batch-size", "32", "--steps", "3", "--compare", "--no-progress", "--out", out],
        capture_output=True, text=True, timeout=240, check=False,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    self.assertEqual(result.returncode, 0, result.stderr[-3000:])
    self.assertRegex(result.stdout, r"^2 x 2 stages x 4 micro-batches \(1f1b\), 3 steps: last loss "
                                    r"\d\.\d{4}, median step \d+ ms, bubble \d+\.\d% \(ideal "
                                    r"20\.0%\)\nactivations held per stage: 2 micro-batches")
    with open(os.path.join(out, "summary.json")) as stream:
      self.assertLess(json.load(stream)["max_weight_difference"], 1e-5)
    for name in ("timeline.json", "gantt.png", "settings.json", "versions.json"):
      self.assertTrue(os.path.isfile(os.path.join(out, name)), name)

  def test_synchronous_async_command_matches_one_process(self):
    out = self.create_tempdir().full_path
    status, stdout, stderr = run_main(
        main, "distributed", "async", "--dataset", "synthetic_iid", "--model", "mlp",
        "--steps", "12", "--batch-size", "16", "--synchronous", "--compare", "--no-progress",
        "--out", out)
    self.assertEqual(status, 0, stderr)
    self.assertRegex(stdout, r"^synchronous SGD, 2 workers, 1 parameter server\(s\), 12 steps "
                             r"of 16: test accuracy \d+\.\d\d% in \d+\.\d s\n"
                             r"staleness: mean 0\.00, max 0\n")
    with open(os.path.join(out, "summary.json")) as stream:
      summary = json.load(stream)
    self.assertAlmostEqual(summary["test_accuracy"], summary["synchronous_test_accuracy"],
                           places=6)
    self.assertEqual(summary["staleness_histogram"], {"0": 12})
    for name in ("job.json", "steps.json", "staleness.png", "versions.json"):
      self.assertTrue(os.path.isfile(os.path.join(out, name)), name)

  def test_async_bad_input_is_one_line(self):
    status, _, stderr = run_main(main, "distributed", "async", "--workers", "0",
                                 "--dataset", "synthetic_iid", "--model", "mlp",
                                 "--out", self.create_tempdir().full_path)
    self.assertEqual(status, 2, stderr)
    self.assertEqual(stderr.strip(), "tff-course: error: workers: got 0, expected an integer "
                                     ">= 1")


if __name__ == "__main__":
  tf.test.main()
