"""The experiment runner: resume after a kill, refusals, divergence."""

import csv
import dataclasses
import os
import signal
import subprocess
import sys
import time
from unittest import mock

import tensorflow as tf

from tff_course.errors import ConfigError
from tff_course.experiment.config import DataConfig, ExperimentConfig, TrainConfig
from tff_course.experiment.records import last_checkpoint_round
from tff_course.experiment.runner import TrainingDiverged, run_experiment

PROGRAM = os.path.join(os.path.dirname(os.path.abspath(__file__)), "programs",
                       "resumable_run.py")
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}


def read_metrics(run_dir):
  with open(os.path.join(run_dir, "metrics.csv"), newline="", encoding="utf-8") as stream:
    rows = list(csv.DictReader(stream))
  for row in rows:
    row.pop("seconds")
  return rows


def tensorboard_steps(run_dir, tag="train_loss"):
  """The steps of every `tag` event in the run's TensorBoard files, in file order."""
  steps = []
  for path in sorted(tf.io.gfile.glob(os.path.join(run_dir, "tensorboard", "**", "events.*"))
                     + tf.io.gfile.glob(os.path.join(run_dir, "tensorboard", "events.*"))):
    for event in tf.compat.v1.train.summary_iterator(path):
      steps += [event.step for value in event.summary.value if value.tag == tag]
  return steps


def run_program(*args):
  return subprocess.run([sys.executable, PROGRAM, *args], capture_output=True, text=True,
                        timeout=300, env=ENV, check=False)


class ResumeTest(tf.test.TestCase):

  def test_killed_run_resumes_to_the_same_metrics(self):
    """Killed after round 3 (checkpoint at 2), then right after the round-4 checkpoint,
    before TensorBoard got rounds 3 and 4: the finished run has the uninterrupted run's
    metrics, and every round in TensorBoard once."""
    whole = self.create_tempdir().full_path
    killed = self.create_tempdir().full_path
    self.assertEqual(run_program(whole).returncode, 0)
    result = run_program(killed, "3")
    self.assertEqual(result.returncode, -9, result.stderr)
    self.assertLen(read_metrics(killed), 3)
    self.assertTrue(os.path.isdir(os.path.join(killed, "client-records")))
    result = run_program(killed, "4", "before-tensorboard")
    self.assertEqual(result.returncode, -9, result.stderr)
    self.assertEqual(last_checkpoint_round(killed), 4)
    self.assertEqual(sorted(tensorboard_steps(killed)), [1, 2])
    finished = run_program(killed)
    self.assertEqual(finished.returncode, 0, finished.stderr)
    expected = read_metrics(whole)
    self.assertLen(expected, 6)
    self.assertEqual(read_metrics(killed), expected)
    self.assertNotEqual(expected[0]["test_accuracy"], expected[-1]["test_accuracy"])
    self.assertEqual(sorted(tensorboard_steps(killed)), [1, 2, 3, 4, 5, 6])
    self.assertEqual(sorted(tensorboard_steps(killed, "test_accuracy")), [1, 2, 3, 4, 5, 6])
    self.assertFalse(os.path.exists(os.path.join(killed, "client-records")))


  def test_sigterm_removes_the_client_records(self):
    run_dir = self.create_tempdir().full_path
    driver = subprocess.Popen([sys.executable, PROGRAM, run_dir], env=ENV,  # pylint: disable=consider-using-with
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    records = os.path.join(run_dir, "client-records")
    deadline = time.monotonic() + 240
    while not os.path.isdir(records) and time.monotonic() < deadline:
      time.sleep(0.02)
    driver.send_signal(signal.SIGTERM)
    driver.communicate(timeout=120)
    self.assertEqual(driver.returncode, -signal.SIGTERM)
    self.assertFalse(os.path.exists(records))


class RunnerInProcessTest(tf.test.TestCase):

  def config(self, **train):
    return ExperimentConfig(
        name="unit", data=DataConfig(dataset="toy_hetero", partition="natural",
                                     options={"num_clients": 6}),
        train=TrainConfig(**{"model": "logistic", "rounds": 2, "client_fraction": 0.5,
                             **train}))

  def test_metrics_and_records(self):
    run_dir = self.create_tempdir().full_path
    final = run_experiment(self.config(), run_dir, progress=False)
    self.assertEqual(final["clients"], 3)
    self.assertEqual(final["bytes_up"], 3 * (10 * 4 + 4 + 1) * 4)
    self.assertEqual(final["bytes_down"], 3 * (10 * 4 + 4) * 4)
    self.assertEqual(final["clients_dropped"], 0)
    for name in ("config.json", "versions.json", "metrics.csv", "tensorboard", "checkpoints",
                 "model.weights.h5"):
      self.assertTrue(os.path.exists(os.path.join(run_dir, name)), name)
    self.assertEqual(last_checkpoint_round(run_dir), 2)

  def test_a_rerun_of_a_finished_run_removes_a_killed_runs_records(self):
    run_dir = self.create_tempdir().full_path
    run_experiment(self.config(), run_dir, progress=False)
    left = os.path.join(run_dir, "client-records")
    os.makedirs(left)
    with open(os.path.join(left, "0.records"), "wb") as stream:
      stream.write(b"left by a SIGKILL after the last checkpoint")
    run_experiment(self.config(), run_dir, progress=False)
    self.assertFalse(os.path.exists(left))

  def test_a_finished_run_returns_its_metrics_without_building_anything(self):
    run_dir = self.create_tempdir().full_path
    final = run_experiment(self.config(), run_dir, progress=False)
    with mock.patch("tff_course.experiment.runner.build_federation",
                    side_effect=AssertionError("rebuilt a finished run")):
      again = run_experiment(self.config(), run_dir, progress=False)
    self.assertEqual({k: v for k, v in again.items() if k != "seconds"},
                     {k: v for k, v in final.items() if k != "seconds"})

  def test_quantized_aggregator_reports_its_bits(self):
    final = run_experiment(self.config(aggregator="quantized", quant_bits=4),
                           self.create_tempdir().full_path, progress=False)
    self.assertEqual(final["bytes_up"], 3 * (4 * 44 + 32 * 3) // 8)
    self.assertGreater(final["test_accuracy"], 0.3)

  def group_config(self, **train):
    return ExperimentConfig(
        name="groups", data=DataConfig(dataset="toy_iid", partition="groups",
                                       samples_per_client=20, groups={0: (0, 1), 1: (2, 3)},
                                       options={"num_clients": 4}),
        train=TrainConfig(**{"model": "logistic", "rounds": 2, "devices_per_group": {0: 4, 1: 1},
                             **train}))

  def test_group_mean_weighs_groups_not_clients(self):
    grouped = run_experiment(self.group_config(aggregator="group_mean"),
                             self.create_tempdir().full_path, progress=False)
    plain = run_experiment(self.group_config(), self.create_tempdir().full_path,
                           progress=False)
    self.assertEqual(grouped["clients"], 5)
    self.assertEqual(grouped["bytes_up"], 5 * (10 * 4 + 4 + 2) * 4)
    self.assertIn("test_group_0_accuracy", grouped)
    self.assertNotAlmostEqual(grouped["test_loss"], plain["test_loss"], places=4)
    for form in ("weights", "gradient"):
      fedsgd = run_experiment(self.group_config(aggregator="group_mean", algorithm="fedsgd",
                                                fedsgd_form=form),
                              self.create_tempdir().full_path, progress=False)
      self.assertEqual(fedsgd["clients"], 5)

  def test_clients_send_their_examples_in_their_groups_slot(self):
    from tff_course.experiment.federation import (build_federation, build_process,
                                                  initial_weights)

    with build_federation(self.group_config(aggregator="group_mean", epochs=2)) as federation:
      process = build_process(federation)
      state = process.set_model_weights(process.initialize(), initial_weights(federation))
      chosen = federation.sample(1)
      output = process.next(state, federation.client_data(chosen, 1))
    self.assertAllEqual(output.metrics["aggregator"]["group_weights"], [4 * 40, 1 * 40])

  def test_group_mean_needs_groups(self):
    with self.assertRaisesRegex(ConfigError, "'group_mean' weighs groups of clients, but "
                                "the 'natural' partition has none"):
      run_experiment(self.config(aggregator="group_mean"), self.create_tempdir().full_path,
                     progress=False)

  def test_scheduled_client_rate_and_momentum(self):
    plain = run_experiment(self.config(), self.create_tempdir().full_path, progress=False)
    scheduled = run_experiment(
        self.config(lr_schedule="cosine", warmup_rounds=1, client_momentum=0.5),
        self.create_tempdir().full_path, progress=False)
    self.assertNotEqual(plain["test_loss"], scheduled["test_loss"])
    with self.assertRaisesRegex(ConfigError, "FedSGD takes a constant rate"):
      self.config(algorithm="fedsgd", lr_schedule="cosine")

  def test_refuses_to_resume_a_different_config(self):
    run_dir = self.create_tempdir().full_path
    run_experiment(self.config(), run_dir, progress=False)
    with self.assertRaisesRegex(ConfigError, r"train.client_lr: 0.05 -> 0.1.*refusing"):
      run_experiment(self.config(client_lr=0.1), run_dir, progress=False)
    longer = dataclasses.replace(self.config(), train=dataclasses.replace(
        self.config().train, rounds=3))
    self.assertEqual(run_experiment(longer, run_dir, progress=False)["clients"], 3)
    self.assertLen(read_metrics(run_dir), 3)
    scheduled_dir = self.create_tempdir().full_path
    run_experiment(self.config(lr_schedule="cosine"), scheduled_dir, progress=False)
    with self.assertRaisesRegex(ConfigError, "train.rounds: 2 -> 3"):
      run_experiment(self.config(lr_schedule="cosine", rounds=3), scheduled_dir,
                     progress=False)

  def test_divergence_stops_with_a_message_and_keeps_the_checkpoint(self):
    run_dir = self.create_tempdir().full_path
    diverging = self.config(checkpoint_every=1, client_lr=1e30)
    diverging = dataclasses.replace(diverging, train=dataclasses.replace(
        diverging.train, model="mlp"))
    with self.assertRaisesRegex(
        TrainingDiverged,
        r"round 1: every client's update was NaN or infinite \(3 of 3 dropped\).*lower "
        r"train.client_lr"):
      run_experiment(diverging, run_dir, progress=False)
    self.assertEqual(os.listdir(os.path.join(run_dir, "checkpoints")), [])
    self.assertEqual(read_metrics(run_dir), [])


if __name__ == "__main__":
  tf.test.main()


class TensorBoardPointsTest(tf.test.TestCase):

  def test_reads_scalars_quietly_and_stops_at_a_record_cut_short(self):
    import logging
    from tff_course.experiment.releases import tensorboard_points

    directory = self.create_tempdir().full_path
    writer = tf.summary.create_file_writer(directory)
    with writer.as_default():
      for step in (1, 2, 3):
        tf.summary.scalar("loss", 1.0 / step, step=step)
    writer.close()
    (path,) = tf.io.gfile.glob(os.path.join(directory, "events.*"))
    with self.assertNoLogs("tensorflow", level=logging.WARNING):
      self.assertEqual(tensorboard_points(directory), {("loss", 1), ("loss", 2), ("loss", 3)})
    with open(path, "rb") as stream:
      data = stream.read()
    with open(path, "wb") as stream:
      stream.write(data[:-5])
    self.assertEqual(tensorboard_points(directory), {("loss", 1), ("loss", 2)})
