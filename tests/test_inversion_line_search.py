"""The TensorFlow strong-Wolfe line search against a NumPy port of PyTorch's
`_strong_wolfe`, and the conditions it promises."""

import numpy as np
import tensorflow as tf
from absl.testing import parameterized

from tasks.inversion.line_search import cubic_minimum, strong_wolfe


def numpy_cubic(x1, f1, g1, x2, f2, g2, bounds=None):
  """torch.optim.lbfgs._cubic_interpolate."""
  lower, upper = bounds if bounds is not None else (min(x1, x2), max(x1, x2))
  d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
  d2_square = d1 ** 2 - g1 * g2
  if d2_square >= 0:
    d2 = np.sqrt(d2_square)
    if x1 <= x2:
      position = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
    else:
      position = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
    return min(max(position, lower), upper)
  return (lower + upper) / 2.0


def numpy_strong_wolfe(fn, x, t, d, f, g, gtd, c1=1e-4, c2=0.9, tolerance_change=1e-9,
                       max_ls=25):
  """torch.optim.lbfgs._strong_wolfe, written after its source; returns
  (f, g, t, evaluations)."""
  d_norm = np.max(np.abs(d))
  f_new, g_new = fn(x + t * d)
  evals, gtd_new = 1, g_new @ d
  t_prev, f_prev, g_prev, gtd_prev = 0.0, f, g, gtd
  done, ls_iter = False, 0
  while ls_iter < max_ls:
    if f_new > f + c1 * t * gtd or (ls_iter > 1 and f_new >= f_prev):
      bracket, bf, bg, bgtd = [t_prev, t], [f_prev, f_new], [g_prev, g_new], [gtd_prev, gtd_new]
      break
    if abs(gtd_new) <= -c2 * gtd:
      bracket, bf, bg, done = [t], [f_new], [g_new], True
      break
    if gtd_new >= 0:
      bracket, bf, bg, bgtd = [t_prev, t], [f_prev, f_new], [g_prev, g_new], [gtd_prev, gtd_new]
      break
    tmp = t
    t = numpy_cubic(t_prev, f_prev, gtd_prev, t, f_new, gtd_new,
                    bounds=(t + 0.01 * (t - t_prev), t * 10))
    t_prev, f_prev, g_prev, gtd_prev = tmp, f_new, g_new, gtd_new
    f_new, g_new = fn(x + t * d)
    evals, gtd_new, ls_iter = evals + 1, g_new @ d, ls_iter + 1
  if ls_iter == max_ls:
    bracket, bf, bg = [0, t], [f, f_new], [g, g_new]
  insufficient = False
  low, high = (0, 1) if bf[0] <= bf[-1] else (1, 0)
  while not done and ls_iter < max_ls:
    if abs(bracket[1] - bracket[0]) * d_norm < tolerance_change:
      break
    t = numpy_cubic(bracket[0], bf[0], bgtd[0], bracket[1], bf[1], bgtd[1])
    eps = 0.1 * (max(bracket) - min(bracket))
    if min(max(bracket) - t, t - min(bracket)) < eps:
      if insufficient or t >= max(bracket) or t <= min(bracket):
        t = max(bracket) - eps if abs(t - max(bracket)) < abs(t - min(bracket)) \
            else min(bracket) + eps
        insufficient = False
      else:
        insufficient = True
    else:
      insufficient = False
    f_new, g_new = fn(x + t * d)
    evals, gtd_new, ls_iter = evals + 1, g_new @ d, ls_iter + 1
    if f_new > f + c1 * t * gtd or f_new >= bf[low]:
      bracket[high], bf[high], bg[high], bgtd[high] = t, f_new, g_new, gtd_new
      low, high = (0, 1) if bf[0] <= bf[1] else (1, 0)
    else:
      if abs(gtd_new) <= -c2 * gtd:
        done = True
      elif gtd_new * (bracket[high] - bracket[low]) >= 0:
        bracket[high], bf[high], bg[high], bgtd[high] = (bracket[low], bf[low], bg[low],
                                                         bgtd[low])
      bracket[low], bf[low], bg[low], bgtd[low] = t, f_new, g_new, gtd_new
  return bf[low], bg[low], bracket[low], evals


def rosenbrock_np(x):
  a, b = x[:-1], x[1:]
  grad = np.zeros_like(x)
  grad[:-1] += -400 * a * (b - a ** 2) - 2 * (1 - a)
  grad[1:] += 200 * (b - a ** 2)
  return np.sum(100 * (b - a ** 2) ** 2 + (1 - a) ** 2), grad


def rosenbrock_tf(x):
  with tf.GradientTape() as tape:
    tape.watch(x)
    value = tf.reduce_sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)
  return value, tape.gradient(value, x)


class LineSearchTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.parameters((0.5, 2.0, 1.0, 3.0, 0.0, 1.0), (3.0, -1.0, 2.0, 0.5, 1.0, -2.0),
                            (0.0, 1.0, -1.0, 1.0, 1.0, 1.0))
  def test_cubic_matches_torch(self, x1, f1, g1, x2, f2, g2):
    lower, upper = min(x1, x2), max(x1, x2)
    args = [tf.constant(v, tf.float64) for v in (x1, f1, g1, x2, f2, g2, lower, upper)]
    self.assertAllClose(cubic_minimum(*args), numpy_cubic(x1, f1, g1, x2, f2, g2))

  @parameterized.named_parameters(
      ("accepts_the_first_step", np.array([-1.2, 1.0, -0.5, 0.8]), 1e-3),
      ("extrapolates", np.array([-1.2, 1.0, -0.5, 0.8]), 1e-6),
      ("zooms_in", np.array([-1.2, 1.0, -0.5, 0.8]), 1.0),
      ("zooms_from_far", np.array([2.0, -1.5, 0.3]), 5.0))
  def test_matches_torch_on_rosenbrock_and_satisfies_wolfe(self, x0, step):
    f, g = rosenbrock_np(x0)
    d = -g
    reference = numpy_strong_wolfe(rosenbrock_np, x0, step, d, f, g, g @ d)
    search = tf.function(lambda: strong_wolfe(
        rosenbrock_tf, tf.constant(x0), tf.constant(step, tf.float64), tf.constant(d),
        tf.constant(f), tf.constant(g), tf.constant(g @ d)))
    value, gradient, t, evaluations = search()
    self.assertAllClose(t, reference[2], rtol=1e-10)
    self.assertAllClose(value, reference[0], rtol=1e-10)
    self.assertAllClose(gradient, reference[1], rtol=1e-10)
    self.assertEqual(int(evaluations), reference[3])
    self.assertLessEqual(float(value), f + 1e-4 * float(t) * (g @ d))
    self.assertLessEqual(abs(gradient.numpy() @ d), -0.9 * (g @ d))
