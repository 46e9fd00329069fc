"""The TensorFlow L-BFGS against a NumPy port of torch.optim.LBFGS's step, without and
with the strong-Wolfe line search."""

import dataclasses

import numpy as np
import scipy.optimize
import tensorflow as tf
from absl.testing import parameterized

from tasks.inversion.lbfgs import (LbfgsConfig, initial_state, lbfgs_step,
                                   two_loop_direction)
from tests.test_inversion_line_search import numpy_strong_wolfe
from tff_course.errors import ConfigError


class NumpyLbfgs:
  """torch.optim.LBFGS.step, written after its source."""

  def __init__(self, config: LbfgsConfig):
    self.c = config
    self.n_iter = 0
    self.d = self.t = self.prev_g = self.prev_loss = None
    self.dirs, self.stps, self.ro, self.h_diag = [], [], [], 1.0

  def step(self, fn, x):
    c = self.c
    loss, g = fn(x)
    evals = 1
    if np.max(np.abs(g)) <= c.tolerance_grad:
      return x
    n = 0
    while n < c.max_iter:
      n += 1
      self.n_iter += 1
      if self.n_iter == 1:
        self.d, self.dirs, self.stps, self.ro, self.h_diag = -g, [], [], [], 1.0
      else:
        y, s = g - self.prev_g, self.d * self.t
        ys = y @ s
        if ys > 1e-10:
          if len(self.dirs) == c.history_size:
            self.dirs.pop(0), self.stps.pop(0), self.ro.pop(0)
          self.dirs.append(y), self.stps.append(s), self.ro.append(1.0 / ys)
          self.h_diag = ys / (y @ y)
        q, al = -g, [0.0] * len(self.dirs)
        for i in range(len(self.dirs) - 1, -1, -1):
          al[i] = (self.stps[i] @ q) * self.ro[i]
          q = q - al[i] * self.dirs[i]
        r = q * self.h_diag
        for i in range(len(self.dirs)):
          r = r + self.stps[i] * (al[i] - (self.dirs[i] @ r) * self.ro[i])
        self.d = r
      self.prev_g, self.prev_loss = g, loss
      self.t = min(1.0, 1.0 / np.sum(np.abs(g))) * c.learning_rate if self.n_iter == 1 \
          else c.learning_rate
      if g @ self.d > -c.tolerance_change:
        break
      if c.line_search == "strong_wolfe":
        loss, g, self.t, searched = numpy_strong_wolfe(fn, x, self.t, self.d, loss, g,
                                                       g @ self.d)
        x = x + self.t * self.d
        evals += searched
      else:
        x = x + self.t * self.d
        if n != c.max_iter:
          loss, g = fn(x)
          evals += 1
      if (n == c.max_iter or evals >= c.max_eval or np.max(np.abs(g)) <= c.tolerance_grad
          or np.max(np.abs(self.d * self.t)) <= c.tolerance_change
          or abs(loss - self.prev_loss) < c.tolerance_change):
        break
    return x


def rosenbrock_np(x):
  a, b = x[:-1], x[1:]
  value = np.sum(100 * (b - a ** 2) ** 2 + (1 - a) ** 2)
  grad = np.zeros_like(x)
  grad[:-1] += -400 * a * (b - a ** 2) - 2 * (1 - a)
  grad[1:] += 200 * (b - a ** 2)
  return value, grad


def rosenbrock_tf(x):
  with tf.GradientTape() as tape:
    tape.watch(x)
    value = tf.reduce_sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)
  return value, tape.gradient(value, x)


MATRIX = np.diag(np.arange(1.0, 7.0)) + 0.1


def quadratic_np(x):
  return 0.5 * x @ MATRIX @ x - x.sum(), MATRIX @ x - 1


def quadratic_tf(x):
  a = tf.constant(MATRIX)
  ax = tf.linalg.matvec(a, x)
  return 0.5 * tf.tensordot(x, ax, 1) - tf.reduce_sum(x), ax - 1


class LbfgsTest(tf.test.TestCase, parameterized.TestCase):

  def run_both(self, fn_np, fn_tf, x0, config, steps):
    reference = NumpyLbfgs(config)
    x_np = x0.copy()
    x_tf, state = tf.constant(x0), initial_state(len(x0), config.history_size, tf.float64)
    step = tf.function(lambda x, s: lbfgs_step(fn_tf, x, s, config))
    for _ in range(steps):
      x_np = reference.step(fn_np, x_np)
      x_tf, state, _, _ = step(x_tf, state)
      self.assertAllClose(x_tf.numpy(), x_np, rtol=1e-7, atol=1e-7)
    return x_np

  @parameterized.named_parameters(
      ("torch_defaults", LbfgsConfig(), 3),
      ("short_history", LbfgsConfig(history_size=3, max_iter=7, learning_rate=0.5), 6))
  def test_matches_numpy_on_rosenbrock(self, config, steps):
    x = self.run_both(rosenbrock_np, rosenbrock_tf, np.array([-1.2, 1.0, -0.5, 0.8]),
                      config, steps)
    self.assertLess(rosenbrock_np(x)[0], rosenbrock_np(np.array([-1.2, 1.0, -0.5, 0.8]))[0])

  @parameterized.named_parameters(
      ("torch_defaults", LbfgsConfig(line_search="strong_wolfe"), 4),
      ("short_history", LbfgsConfig(line_search="strong_wolfe", history_size=3, max_iter=7,
                                    learning_rate=0.5), 12))
  def test_strong_wolfe_matches_numpy_and_reaches_scipys_minimum(self, config, steps):
    start = np.array([-1.2, 1.0, -0.5, 0.8])
    x = self.run_both(rosenbrock_np, rosenbrock_tf, start, config, steps)
    expected = scipy.optimize.minimize(rosenbrock_np, start, jac=True, method="L-BFGS-B",
                                       options={"gtol": 1e-10, "ftol": 1e-15}).x
    self.assertAllClose(x, expected, atol=1e-4)

  def test_strong_wolfe_keeps_a_too_long_step_in_check(self):
    config = LbfgsConfig(learning_rate=1e3, max_iter=5)
    start = np.array([-1.2, 1.0, -0.5, 0.8])
    fixed, _, _, _ = lbfgs_step(rosenbrock_tf, tf.constant(start),
                                initial_state(4, config.history_size, tf.float64), config)
    searched = self.run_both(rosenbrock_np, rosenbrock_tf, start,
                             dataclasses.replace(config, line_search="strong_wolfe"), 2)
    self.assertFalse(rosenbrock_np(fixed.numpy())[0] < 1e6)
    self.assertLess(rosenbrock_np(searched)[0], rosenbrock_np(start)[0])

  def test_matches_numpy_and_solves_a_quadratic(self):
    x = self.run_both(quadratic_np, quadratic_tf, np.ones(6), LbfgsConfig(), 2)
    self.assertAllClose(x, np.linalg.solve(MATRIX, np.ones(6)), atol=1e-5)

  def test_two_loop_with_one_pair_is_the_bfgs_update(self):
    rng = np.random.default_rng(0)
    g, s, y = rng.standard_normal((3, 5))
    y = y + 2 * s
    rho = 1 / (y @ s)
    gamma = (s @ y) / (y @ y)
    eye = np.eye(5)
    h = (eye - rho * np.outer(s, y)) @ (gamma * eye) @ (eye - rho * np.outer(y, s)) + \
        rho * np.outer(s, s)
    history = lambda row: tf.constant(np.stack([np.zeros(5), row]))
    direction = two_loop_direction(tf.constant(g), history(s), history(y),
                                   tf.constant(np.array([0.0, rho])), tf.constant(gamma, tf.float64))
    self.assertAllClose(direction, -h @ g)

  @parameterized.parameters(dict(learning_rate=-1.0), dict(max_iter=0),
                            dict(history_size=2.5), dict(tolerance_grad=True),
                            dict(line_search="wolfe"))
  def test_bad_settings(self, **setting):
    with self.assertRaisesRegex(ConfigError, "lbfgs\\."):
      LbfgsConfig(**setting)
