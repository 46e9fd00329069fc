"""Restarting failed DLG / iDLG attempts: the failure signals, the derived seeds, the
kept attempt, and partial results when every attempt diverges."""

import numpy as np
import tensorflow as tf

from tasks.inversion.attacks import AttackConfig, run_attack
from tasks.inversion.lbfgs import LbfgsConfig
from tasks.inversion.outcome import AttackResult, Status
from tasks.inversion.restarts import (attempt_seed, best_attempt, failure_reason,
                                      relative_distance, run_with_restarts)
from tasks.inversion.shared import shared_gradient
from tests.test_inversion_attacks import lenet_and_image
from tff_course.errors import ConfigError


def fake_result(objective, status=Status.FINISHED, steps=3):
  return AttackResult(images=np.full((1, 2), objective), labels=np.zeros(1, np.int32),
                      snapshots=[], losses=[objective], status=status, message="",
                      steps=steps, evaluations=10, seconds=0.5, objective=objective)


class PolicyTest(tf.test.TestCase):

  def test_failure_signals(self):
    reason = lambda status, relative, magnitude: failure_reason(
        status, relative, magnitude, max_relative=1e-4, bound=100.0)
    self.assertEqual(reason(Status.STALLED, 1e-8, 3.0), "")
    self.assertEqual(reason(Status.FINISHED, float("nan"), 1.0), "")
    self.assertRegex(reason(Status.DIVERGED, 1e-8, 3.0), "NaN or infinite")
    self.assertRegex(reason(Status.STALLED, 1e-8, 3.2e5), r"left \[-100, 100\] .*3.2e\+05")
    self.assertRegex(reason(Status.STALLED, 1e-8, float("nan")), "left")
    self.assertRegex(reason(Status.FINISHED, 6e-3, 30.0), "distance 0.006 .*above 0.0001")
    self.assertRegex(reason(Status.FINISHED, float("inf"), 1.0), "distance inf")

  def test_relative_distance(self):
    self.assertEqual(relative_distance(2.0, 8.0), 0.25)
    self.assertEqual(relative_distance(0.0, 0.0), 0.0)
    self.assertEqual(relative_distance(1e-3, 0.0), float("inf"))

  def test_seeds_and_best(self):
    self.assertEqual([attempt_seed(7, k) for k in range(3)], [(7,), (7, 1), (7, 2)])
    self.assertAllEqual(np.random.default_rng(attempt_seed(7, 0)).standard_normal(4),
                        np.random.default_rng(7).standard_normal(4))
    self.assertEqual(best_attempt([3.0, float("nan"), 1.0, 1.0, float("-inf")]), 2)
    self.assertEqual(best_attempt([float("inf"), float("nan")]), 0)

  def test_stops_at_the_first_success_and_keeps_the_least_objective(self):
    objectives = {(5,): 9.0, (5, 1): 4.0, (5, 2): 1e-9, (5, 3): 0.0}
    seen = []

    def attempt(seed):
      seen.append(seed)
      return fake_result(objectives[seed])

    judge = lambda r: (r.objective, "" if r.objective < 1e-6 else "too far")
    result = run_with_restarts(attempt, judge, seed=5, restarts=5)
    self.assertEqual(seen, [(5,), (5, 1), (5, 2)])
    self.assertEqual(result.kept, 2)
    self.assertEqual(result.objective, 1e-9)
    self.assertEqual([a.failure for a in result.attempts], ["too far", "too far", ""])
    self.assertEqual(result.evaluations, 30)
    self.assertEqual(result.seconds, 1.5)
    self.assertRegex(result.message, r"attempt 3 succeeded after 2 restart\(s\) \(attempt 1 "
                                     r"\(seed 5\): too far; attempt 2 \(seed \(5, 1\)\)")

  def test_every_attempt_failing_keeps_the_best_partial_result(self):
    objectives = iter([5.0, float("nan"), 2.0])
    statuses = iter([Status.STALLED, Status.DIVERGED, Status.FINISHED])
    result = run_with_restarts(lambda seed: fake_result(next(objectives), next(statuses)),
                               lambda r: (r.objective, "failed"), seed=0, restarts=2)
    self.assertEqual(result.kept, 2)
    self.assertEqual(result.status, Status.FINISHED)
    self.assertLen(result.attempts, 3)
    self.assertRegex(result.message, "^every attempt failed after 2 restart")
    self.assertEqual(result.attempts[1].to_dict()["status"], "diverged")

  def test_bad_settings(self):
    with self.assertRaisesRegex(ConfigError, "restarts: got -1, expected a whole number >= 0"):
      AttackConfig(restarts=-1)
    with self.assertRaisesRegex(ConfigError, "restart_distance: got 'x'"):
      AttackConfig(restart_distance="x")
    with self.assertRaisesRegex(ConfigError, "dummy_bound: got -1"):
      AttackConfig(dummy_bound=-1)


class AttackRestartTest(tf.test.TestCase):

  def setUp(self):
    super().setUp()
    self.model, image = lenet_and_image()
    self.gradient = shared_gradient(self.model, image, [3])

  def attack(self, **settings):
    config = AttackConfig(iterations=2, seed=3, jit_compile=False, **settings)
    return run_attack(self.model, self.gradient, 1, config)

  def test_failed_attempts_restart_from_derived_seeds(self):
    single = self.attack(restarts=0)
    result = self.attack(restarts=2, restart_distance=0.0)
    self.assertEqual([a.seed for a in result.attempts], [(3,), (3, 1), (3, 2)])
    self.assertAllEqual(result.attempts[0].objective, single.objective)
    objectives = [a.objective for a in result.attempts]
    self.assertLen(set(objectives), 3)
    self.assertEqual(result.kept, int(np.argmin(objectives)))
    self.assertEqual(result.objective, min(objectives))
    self.assertEqual(result.evaluations, sum(a.evaluations for a in result.attempts))
    for attempt in result.attempts:
      self.assertRegex(attempt.failure, "gradient distance .* above 0")
      self.assertAllClose(attempt.relative_objective * sum(
          float(np.sum(np.square(g))) for g in self.gradient), attempt.objective, rtol=1e-5)
    again = self.attack(restarts=2, restart_distance=0.0)
    self.assertAllEqual(again.images, result.images)

  def test_a_success_is_not_restarted(self):
    result = self.attack(restarts=2, restart_distance=1e9)
    self.assertLen(result.attempts, 1)
    self.assertEqual(result.attempts[0].failure, "")
    self.assertEqual(result.message, "")

  def test_out_of_range_dummy_is_a_failure(self):
    result = self.attack(restarts=1, restart_distance=1e9, dummy_bound=0.5)
    self.assertLen(result.attempts, 2)
    self.assertRegex(result.attempts[1].failure, r"left \[-0.5, 0.5\]")

  def test_diverging_attempts_keep_finite_partial_images(self):
    inputs = tf.keras.Input((32, 32, 3))
    model = tf.keras.Model(inputs, tf.keras.layers.Dense(10)(tf.keras.layers.Flatten()(inputs)))
    image = np.random.default_rng(1).uniform(0, 1, (1, 32, 32, 3))
    config = AttackConfig(iterations=20, jit_compile=False, restarts=2,
                          lbfgs=LbfgsConfig(learning_rate=1e30, max_iter=3))
    result = run_attack(model, shared_gradient(model, image, [2]), 1, config)
    self.assertEqual([a.status for a in result.attempts], [Status.DIVERGED] * 3)
    self.assertEqual(result.status, Status.DIVERGED)
    self.assertTrue(np.all(np.isfinite(result.images)))
    self.assertRegex(result.message, "^every attempt failed .*NaN or infinite.*kept the last "
                                     "finite images")
