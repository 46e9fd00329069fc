"""The async-sgd course experiment: every arm applies the same updates; end to end on
synthetic data with real parameter-server processes (synchronous and asynchronous with 2
workers, one seed), its snapshot rows, report and answers; the snapshot rows against a
hand count."""

import json
import os
from unittest import mock

import numpy as np
import tensorflow as tf

from tests.report_checks import assert_every_question_answered
from tff_course.course import async_course, course_experiment, plan_arms, run_course_experiment
from tff_course.course.distributed_runs import snapshot_rows
from tff_course.course.settings import FULL
from tff_course.distributed.async_sgd import AsyncStep
from tff_course.distributed.async_snapshots import Snapshot, read_snapshots, write_snapshots


class AsyncCourseArmsTest(tf.test.TestCase):

  def test_every_arm_applies_the_same_updates(self):
    experiment = course_experiment("async-sgd")
    for setting in ("default", FULL):
      planned = plan_arms(experiment, setting=setting)
      self.assertLen({arm.settings["rounds"] * arm.settings["steps_per_round"]
                      for arm in planned}, 1)
      self.assertEqual({(arm.settings["workers"], arm.settings["synchronous"])
                        for arm in planned}, {(2, True), (2, False), (4, False)})


class SnapshotRowsTest(tf.test.TestCase):

  def test_rows_count_the_updates_between_snapshots(self):
    records = [AsyncStep(step=i, loss=float(i), version=v, staleness=s, seconds=0.1 * v)
               for i, (v, s) in enumerate([(2, 1), (1, 0), (3, 0), (4, 2)])]
    snapshots = [Snapshot(2, 0.5, [np.array([1.0])]), Snapshot(4, 1.25, [np.array([2.0])])]
    rows = snapshot_rows(snapshots, records, lambda weights: float(weights[0][0]) / 4)
    self.assertEqual([row["gradient_steps"] for row in rows], [2, 4])
    self.assertEqual([row["train_loss"] for row in rows], [0.5, 2.5])
    self.assertEqual([row["mean_staleness"] for row in rows], [0.5, 1.0])
    self.assertEqual([row["test_accuracy"] for row in rows], [0.25, 0.5])
    np.testing.assert_allclose([row["seconds"] for row in rows], [0.5, 0.75])

  def test_snapshots_round_trip(self):
    path = os.path.join(self.create_tempdir().full_path, "snapshots.npz")
    written = [Snapshot(3, 0.5, [np.ones((2, 2)), np.zeros(3)]),
               Snapshot(7, 1.5, [np.full((2, 2), 2.0), np.ones(3)])]
    write_snapshots(path, written)
    read = read_snapshots(path)
    self.assertEqual([(s.version, s.seconds) for s in read], [(3, 0.5), (7, 1.5)])
    for before, after in zip(written, read):
      for a, b in zip(before.weights, after.weights):
        np.testing.assert_array_equal(a, b)


class AsyncCourseRunTest(tf.test.TestCase):

  def test_runs_and_reports(self):
    run_dir = self.create_tempdir().full_path
    small = {**async_course.COMMON, "dataset": "synthetic_iid", "model": "mlp",
             "batch_size": 16}
    runs = {key: async_course.RUNS[key] for key in ("sync-w2", "async-w2")}
    with mock.patch.multiple(async_course, COMMON=small, RUNS=runs, SEEDS=(0,), ROUNDS=3,
                             STEPS_PER_ROUND=5):
      report = run_course_experiment(course_experiment("async-sgd"), run_dir, progress=False)
    with open(report, encoding="utf-8") as stream:
      text = stream.read()
    assert_every_question_answered(self, text)
    for image in ("accuracy-curves.png", "staleness.png"):
      self.assertTrue(os.path.isfile(os.path.join(run_dir, image)), image)
    for key in ("sync-w2-s0", "async-w2-s0"):
      with open(os.path.join(run_dir, key, "metrics.csv")) as stream:
        rows = stream.read().splitlines()
      self.assertLen(rows, 4)
      self.assertEqual(rows[-1].split(",")[4], "15")
      with open(os.path.join(run_dir, key, "job", "steps.json")) as stream:
        self.assertLen(json.load(stream), 15)
    with open(os.path.join(run_dir, "sync-w2-s0", "metrics.csv")) as stream:
      synchronous = [row.split(",") for row in stream.read().splitlines()[1:]]
    self.assertEqual([row[4] for row in synchronous], ["5", "10", "15"])
    self.assertEqual({row[5] for row in synchronous}, {"0.0"})
    self.assertIn("| synchronous SGD, 2 workers | 15 |", text)


if __name__ == "__main__":
  tf.test.main()
