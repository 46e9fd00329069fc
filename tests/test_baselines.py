"""The centralized and single-device baselines."""

import csv
import dataclasses
import math
import os

import tensorflow as tf

from tff_course.algorithms.schedules import keras_cosine_schedule, keras_schedule, round_schedule
from tff_course.experiment.records import last_checkpoint_round
from tff_course.experiment.config import DataConfig, ExperimentConfig, TrainConfig
from tff_course.experiment.runner import run_experiment


def reference_rate(step, peak, total, warmup):
  if step < warmup:
    return peak * (step + 1) / warmup
  progress = min((step - warmup) / max(total - warmup, 1), 1.0)
  return 0.5 * peak * (1 + math.cos(math.pi * progress))


class ScheduleTest(tf.test.TestCase):

  def test_cosine_with_warmup_matches_numpy(self):
    schedule = keras_cosine_schedule(0.4, total_steps=100, warmup_steps=10)
    for step in (0, 5, 9, 10, 30, 55, 99, 100, 150):
      self.assertAllClose(float(schedule(step)), reference_rate(step, 0.4, 100, 10),
                          atol=1e-6)
    self.assertAllClose(float(schedule(10)), 0.4)
    self.assertAllClose(float(schedule(100)), 0.0, atol=1e-7)

  def test_step_decay_divides_by_ten_at_half_and_three_quarters(self):
    expected = [0.4] * 50 + [0.04] * 25 + [0.004] * 25
    keras_rate = keras_schedule("step", 0.4, total_steps=100)
    self.assertAllClose([float(keras_rate(step)) for step in range(100)], expected, rtol=1e-6)
    per_round = round_schedule("step", 0.4, 8)
    self.assertAllClose([float(per_round(r)) for r in range(8)],
                        [0.4] * 4 + [0.04] * 2 + [0.004] * 2, rtol=1e-6)
    self.assertEqual(keras_schedule("constant", 0.4, 100), 0.4)
    with self.assertRaisesRegex(Exception, "lr_schedule: got 'linear', expected one of"):
      keras_schedule("linear", 0.4, 100)


class CentralizedRunTest(tf.test.TestCase):

  def config(self, **data):
    return ExperimentConfig(
        name="baseline", data=DataConfig(dataset="synthetic", partition="iid", num_clients=1,
                                         **data),
        train=TrainConfig(model="mlp", algorithm="centralized", rounds=4, client_lr=0.05,
                          client_momentum=0.9, lr_schedule="cosine", warmup_rounds=1))

  def test_interrupted_baseline_resumes_to_the_same_result(self):
    whole = run_experiment(self.config(), self.create_tempdir().full_path, progress=False)
    run_dir = self.create_tempdir().full_path

    def stop(epoch):
      if epoch == 2:
        raise KeyboardInterrupt

    with self.assertRaises(KeyboardInterrupt):
      run_experiment(self.config(), run_dir, progress=False, on_round_end=stop)
    resumed = run_experiment(self.config(), run_dir, progress=False)
    self.assertEqual(whole["test_loss"], resumed["test_loss"])
    with open(os.path.join(run_dir, "metrics.csv"), newline="") as stream:
      self.assertEqual([row["round"] for row in csv.DictReader(stream)], ["1", "2", "3", "4"])
    self.assertEqual(last_checkpoint_round(run_dir), 4)

  def test_with_steps_a_round_is_that_many_batches_and_resumes_exactly(self):
    config = dataclasses.replace(self.config(), train=TrainConfig(
        model="mlp", algorithm="centralized", rounds=3, client_lr=0.01, epochs=None,
        steps=3, batch_size=10, client_optimizer="adam"))
    whole = run_experiment(config, self.create_tempdir().full_path, progress=False)
    self.assertEqual(whole["examples"], 30)
    run_dir = self.create_tempdir().full_path

    def stop(epoch):
      if epoch == 1:
        raise KeyboardInterrupt

    with self.assertRaises(KeyboardInterrupt):
      run_experiment(config, run_dir, progress=False, on_round_end=stop)
    self.assertEqual(run_experiment(config, run_dir, progress=False)["test_loss"],
                     whole["test_loss"])

  def test_single_device_sees_its_share_only(self):
    full = run_experiment(self.config(), self.create_tempdir().full_path, progress=False)
    single = run_experiment(self.config(samples_per_client=400),
                            self.create_tempdir().full_path, progress=False)
    self.assertEqual(single["examples"], 400)
    self.assertGreater(full["examples"], 4000)
    self.assertGreater(full["test_accuracy"], single["test_accuracy"])


if __name__ == "__main__":
  tf.test.main()
