"""Gradient defenses and reconstruction metrics against NumPy references."""

import numpy as np
import tensorflow as tf
from absl.testing import parameterized

from tasks.inversion.defenses import defense_method, laplace_noise, prune_smallest
from tasks.inversion.metrics import (l2_distance, match_order, mse, psnr,
                                     reconstruction_metrics, ssim)
from tff_course.errors import ConfigError
from tff_course.quantization import dorefa_g, uniform_noise_tf

GRADS = [np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32),
         np.array([0.3, -0.1, 0.0, 0.2], np.float32)]


def prune_np(g, fraction):
  flat = g.ravel().copy()
  count = int(np.ceil(fraction * flat.size - 1e-9))
  flat[np.argsort(np.abs(flat), kind="stable")[:count]] = 0
  return flat.reshape(g.shape)


def ssim_np(x, y):
  """SSIM with an 11x11 Gaussian window (sigma 1.5), valid positions, per channel."""
  from numpy.lib.stride_tricks import sliding_window_view
  axis = np.arange(11) - 5.0
  window = np.exp(-axis ** 2 / (2 * 1.5 ** 2))
  window = np.outer(window, window) / np.sum(np.outer(window, window))
  c1, c2 = 0.01 ** 2, 0.03 ** 2

  def blur(a):
    return np.einsum("hwij,ij->hw", sliding_window_view(a, (11, 11)), window)
  values = []
  for c in range(x.shape[-1]):
    a, b = x[..., c].astype(np.float64), y[..., c].astype(np.float64)
    ma, mb = blur(a), blur(b)
    va, vb, cov = blur(a * a) - ma ** 2, blur(b * b) - mb ** 2, blur(a * b) - ma * mb
    values.append(((2 * ma * mb + c1) * (2 * cov + c2)) /
                  ((ma ** 2 + mb ** 2 + c1) * (va + vb + c2)))
  return float(np.mean(values))


class DefenseTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.parameters(0.0, 0.25, 0.3, 0.5, 1.0)
  def test_prune_matches_numpy(self, fraction):
    for g in GRADS:
      self.assertAllEqual(prune_smallest(tf.constant(g), fraction), prune_np(g, fraction))

  def test_prune_fraction_of_each_tensor(self):
    pruned = defense_method(GRADS, "prune", 0.5, seed=0)
    self.assertEqual([int(np.sum(p.numpy() == 0)) for p in pruned], [10, 2])

  def test_quantize_is_dorefa_with_the_same_draw(self):
    defended = defense_method(GRADS, "quantize", 3, seed=7)
    for index, (g, d) in enumerate(zip(GRADS, defended)):
      noise = uniform_noise_tf(g.shape, tf.constant([7, index], tf.int64), -0.5).numpy()
      self.assertAllClose(d, dorefa_g(g, 3, noise=noise))
      self.assertLessEqual(len(np.unique(d.numpy())), 2 ** 3)

  @parameterized.parameters(("gaussian", 1.0), ("laplacian", np.sqrt(2.0)))
  def test_noise_scale(self, kind, std_per_sigma):
    zeros = [np.zeros((200, 200), np.float32)]
    noise = defense_method(zeros, kind, 0.01, seed=3)[0].numpy()
    self.assertAllClose(np.mean(noise), 0.0, atol=2e-4)
    self.assertAllClose(np.std(noise), 0.01 * std_per_sigma, rtol=0.02)

  def test_laplace_noise_has_laplace_quantiles(self):
    draw = laplace_noise([100_000], tf.constant([1, 2], tf.int64)).numpy()
    for q in (0.1, 0.25, 0.75, 0.9):
      expected = np.log(2 * q) if q < 0.5 else -np.log(2 - 2 * q)
      self.assertAllClose(np.quantile(draw, q), expected, atol=0.02)

  @parameterized.parameters("none", "gaussian", "laplacian", "prune", "quantize")
  def test_same_seed_same_gradient(self, kind):
    strength = 4 if kind == "quantize" else 0.2
    first = defense_method(GRADS, kind, strength, seed=5)
    self.assertAllEqual(first[0], defense_method(GRADS, kind, strength, seed=5)[0])
    if kind in ("gaussian", "laplacian", "quantize"):
      self.assertNotAllEqual(first[0], defense_method(GRADS, kind, strength, seed=6)[0])
    if kind == "none":
      self.assertAllEqual(first[1], GRADS[1])

  @parameterized.parameters(("blur", 1.0, "defense: got 'blur'"),
                            ("prune", 1.5, "expected a fraction"),
                            ("gaussian", -1.0, "expected a finite number >= 0"),
                            ("gaussian", float("nan"), "expected a finite number"),
                            ("quantize", 2.5, "nbit: got 2.5"),
                            ("quantize", 0, "nbit: got 0"))
  def test_bad_defense(self, kind, strength, message):
    with self.assertRaisesRegex(ConfigError, message):
      defense_method(GRADS, kind, strength, seed=0)


class MetricsTest(tf.test.TestCase):

  def setUp(self):
    super().setUp()
    rng = np.random.default_rng(1)
    self.x = rng.uniform(0, 1, (32, 32, 3)).astype(np.float32)
    self.y = np.clip(self.x + rng.normal(0, 0.1, self.x.shape), 0, 1).astype(np.float32)

  def test_simple_metrics_known_values(self):
    a, b = np.zeros((2, 2, 1)), np.full((2, 2, 1), 0.1)
    self.assertAllClose(l2_distance(a, b), 0.2)
    self.assertAllClose(mse(a, b), 0.01)
    self.assertAllClose(psnr(a, b), 20.0)
    self.assertEqual(psnr(a, a), float("inf"))

  def test_ssim_matches_numpy(self):
    self.assertAllClose(ssim(self.x[None], self.y[None]), ssim_np(self.x, self.y), atol=1e-5)
    self.assertAllClose(ssim(self.x[None], self.x[None]), 1.0)

  def test_batch_order_is_matched(self):
    originals = np.stack([self.x, self.y, 1 - self.x])
    recovered = originals[[2, 0, 1]]
    self.assertAllEqual(match_order(originals, recovered), [1, 2, 0])
    metrics = reconstruction_metrics(originals, [3, 4, 5], recovered, [5, 3, 9])
    self.assertEqual(metrics["mean"]["mse"], 0.0)
    self.assertEqual([m["label_recovered"] for m in metrics["images"]], [True, False, True])
    self.assertAllClose(metrics["mean"]["label_recovered"], 2 / 3)
