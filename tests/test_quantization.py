import numpy as np
import tensorflow as tf
from absl.testing import parameterized
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tff_course.errors import ConfigError, DataError
from tff_course.quantization import (dorefa_g, dorefa_g_tf, quantize, quantize_tf,
                                     uniform_noise)

FLOATS = hnp.arrays(np.float32, st.integers(1, 40), elements=st.one_of(
    st.floats(-1e3, 1e3, width=32), st.floats(-2.0 ** -120, 2.0 ** -120, width=32),
    st.floats(width=32, allow_nan=False, allow_infinity=False)))
SUBNORMAL = float(np.finfo(np.float32).smallest_subnormal)


class QuantizeTest(tf.test.TestCase, parameterized.TestCase):

  def test_hand_computed_levels(self):
    self.assertAllClose(quantize([0.0, 0.2, 0.5, 1.0], 2), [0, 1 / 3, 2 / 3, 1], atol=0)
    self.assertAllEqual(quantize([0.0, 0.49, 0.5, 0.51, 1.0], 1), [0, 0, 0, 1, 1])

  def test_32_bits_is_nearly_the_identity_and_saturates_outside(self):
    x = np.linspace(0, 1, 101, dtype=np.float32)
    self.assertAllClose(quantize(x, 32), x, atol=1e-7)
    self.assertAllEqual(quantize([-0.3, 1.7], 8), [0, 1])

  def test_stochastic_rounding_with_given_noise(self):
    self.assertAllEqual(quantize([0.25, 0.25], 1, stochastic=True, noise=[0.7, 0.8]), [0, 1])

  @parameterized.parameters(1, 2, 4)
  def test_stochastic_rounding_is_unbiased(self, nbit):
    rng = np.random.default_rng(nbit)
    x = np.full(40_000, 0.3, np.float32)
    draws = quantize(x, nbit, stochastic=True, rng=rng)
    self.assertLen(np.unique(draws), 2)
    self.assertNear(draws.mean(), 0.3, 4 * draws.std() / np.sqrt(len(x)))

  @parameterized.parameters(0, 33, -1, 2.5, True, "8")
  def test_bad_nbit(self, nbit):
    with self.assertRaisesRegex(ConfigError, "nbit: got .*, expected a whole number of bits "
                                "from 1 to 32"):
      quantize([0.5], nbit)

  def test_non_finite_input(self):
    with self.assertRaisesRegex(DataError, r"x: got a non-finite value \(nan\)"):
      quantize([0.5, np.nan], 4)
    with self.assertRaisesRegex(tf.errors.InvalidArgumentError, "non-finite"):
      quantize_tf(tf.constant([np.inf]), 4)

  def test_stochastic_without_randomness_draws_fresh_noise(self):
    x = np.full(200, 0.5, np.float32)
    first, second = (quantize(x, 1, stochastic=True) for _ in range(2))
    self.assertAllInSet(first, [0.0, 1.0])
    self.assertNotAllEqual(first, second)
    self.assertAllEqual(quantize([1e-45, 0.5], 8), np.float32([0, 128]) / np.float32(255))

  @settings(deadline=None, max_examples=60)
  @given(hnp.arrays(np.float32, st.integers(1, 50), elements=st.floats(0, 1, width=32)),
         st.integers(1, 32), st.booleans())
  def test_tf_equals_numpy_exactly(self, x, nbit, stochastic):
    noise = uniform_noise(x.shape, np.random.default_rng(0), 0.0)
    expected = quantize(x, nbit, stochastic=stochastic, noise=noise)
    actual = quantize_tf(tf.constant(x), nbit, stochastic=stochastic, noise=noise).numpy()
    np.testing.assert_array_equal(actual, expected)


class DorefaTest(tf.test.TestCase, parameterized.TestCase):

  def test_hand_computed(self):
    self.assertAllClose(dorefa_g([-1.0, 0.0, 0.5], 2, noise=np.zeros(3)), [-1, 1 / 3, 1 / 3])
    self.assertAllClose(dorefa_g([0.5], 1, adaptive_scale=2.0, noise=[0.0]), [2.0])

  @parameterized.parameters(1, 2, 4, 8)
  def test_unbiased_in_expectation(self, nbit):
    rng = np.random.default_rng(nbit)
    w = np.array([-0.7, -0.1, 0.0, 0.33, 1.0], np.float32)
    draws = np.stack([dorefa_g(w, nbit, rng=rng) for _ in range(8_000)])
    sigma = draws.std(axis=0) / np.sqrt(len(draws))
    self.assertTrue(np.all(np.abs(draws.mean(axis=0) - w) <= 4 * sigma + 1e-6),
                    (draws.mean(axis=0), w))

  def test_values_stay_within_the_scale(self):
    w = np.random.default_rng(0).normal(size=1000).astype(np.float32)
    out = dorefa_g(w, 3, rng=np.random.default_rng(1))
    self.assertAllLessEqual(np.abs(out), np.abs(w).max() + 1e-6)
    self.assertLessEqual(len(np.unique(out)), 8)

  def test_all_zero_and_empty(self):
    self.assertAllEqual(dorefa_g(np.zeros(4), 4, rng=np.random.default_rng(0)), np.zeros(4))
    self.assertAllEqual(dorefa_g_tf(tf.zeros(4), 4, seed=[1, 2]), np.zeros(4))

  @parameterized.parameters(0.0, -1.0, float("nan"), float("inf"), 1e-40, 1e39)
  def test_bad_scale(self, scale):
    with self.assertRaisesRegex(ConfigError, "adaptive_scale: got .*, expected a finite "
                                "number > 0"):
      dorefa_g([0.5], 4, adaptive_scale=scale, rng=np.random.default_rng(0))

  def test_non_finite_input(self):
    with self.assertRaisesRegex(DataError, "w: got a non-finite value"):
      dorefa_g([np.inf], 4, rng=np.random.default_rng(0))

  @settings(deadline=None, max_examples=60)
  @given(FLOATS, st.integers(1, 32), st.sampled_from([None, 0.5, 1000.0]))
  def test_tf_equals_numpy_exactly(self, w, nbit, scale):
    noise = uniform_noise(w.shape, np.random.default_rng(0), -0.5)
    expected = dorefa_g(w, nbit, scale, noise=noise)
    actual = dorefa_g_tf(tf.constant(w), nbit, scale, noise=noise).numpy()
    np.testing.assert_array_equal(actual, expected)

  def test_course_signature_draws_from_a_fresh_generator(self):
    w = np.linspace(-1, 1, 200, dtype=np.float32)
    first, second = dorefa_g(w, 2), dorefa_g(w, 2)
    self.assertNotAllEqual(first, second)
    self.assertLessEqual(len(np.unique(first)), 4)
    self.assertAllClose(first, w, atol=2 / 3 + 1e-6)
    scaled = dorefa_g(w, 1, 2.0)
    self.assertAllInSet(scaled, [-2.0, 2.0])
    self.assertAllEqual(dorefa_g(w, 2, rng=np.random.default_rng(5)),
                        dorefa_g(w, 2, rng=np.random.default_rng(5)))

  def test_tf_without_seed_draws_anew_at_every_execution(self):
    w = tf.constant(np.linspace(-1, 1, 200, dtype=np.float32))
    self.assertNotAllEqual(dorefa_g_tf(w, 2), dorefa_g_tf(w, 2))
    graph = tf.function(lambda: dorefa_g_tf(w, 2))
    self.assertNotAllEqual(graph(), graph())
    halves = tf.fill([200], 0.5)
    self.assertNotAllEqual(quantize_tf(halves, 1, stochastic=True),
                           quantize_tf(halves, 1, stochastic=True))

  @parameterized.product(
      w=([SUBNORMAL], [1e-45, 1.0], [SUBNORMAL, -1e-40, 1e-39], [1e-40, 2e-38],
         [3e38, -1.0, 1e-45]),
      nbit=(1, 8), scale=(None, 0.5, 3e38), noise=(0.0, 0.49, -0.5))
  def test_subnormals_and_extremes_tf_equals_numpy(self, w, nbit, scale, noise):
    noise = np.full(len(w), noise, np.float32)
    expected = dorefa_g(w, nbit, scale, noise=noise)
    actual = dorefa_g_tf(tf.constant(w, tf.float32), nbit, scale, noise=noise).numpy()
    np.testing.assert_array_equal(actual, expected)
    self.assertTrue(np.all(np.isfinite(expected)), expected)
    tiny = np.finfo(np.float32).tiny
    self.assertFalse(np.any((expected != 0) & (np.abs(expected) < tiny)), expected)

  def test_subnormal_inputs_count_as_zero(self):
    self.assertAllEqual(dorefa_g([1e-45], 1, noise=[0.3]), [0.0])
    self.assertAllEqual(dorefa_g([1e-45, 1e-40], 8, 0.5, noise=[0.0, 0.0]),
                        dorefa_g([0.0, 0.0], 8, 0.5, noise=[0.0, 0.0]))
    self.assertAllEqual(dorefa_g([1e-45, 1.0], 1, noise=[0.0, 0.0]), [-1.0, 1.0])
    self.assertAllEqual(dorefa_g([2e-38, 1e-40], 8, noise=[0.0, 0.0]), np.float32([2e-38, 0]))

  def test_largest_floats_do_not_overflow(self):
    self.assertAllEqual(dorefa_g([3e38, -3e38, 0.25], 1, 0.5, noise=[0.0, 0.0, 0.0]),
                        [0.5, -0.5, 0.5])
    self.assertAllEqual(dorefa_g([3e38, -3e38], 4, noise=[0.0, 0.0]), np.float32([3e38, -3e38]))
    self.assertAllClose(dorefa_g([3e38, 1e38], 2, noise=[0.0, 0.0]), [3e38, 1e38], rtol=1e-6)

  def test_tf_seeded_draws_repeat_and_differ_by_seed(self):
    w = tf.constant(np.linspace(-1, 1, 50, dtype=np.float32))
    first, again = dorefa_g_tf(w, 2, seed=[3, 4]), dorefa_g_tf(w, 2, seed=[3, 4])
    self.assertAllEqual(first, again)
    self.assertNotAllEqual(first, dorefa_g_tf(w, 2, seed=[3, 5]))


if __name__ == "__main__":
  tf.test.main()
