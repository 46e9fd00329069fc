import numpy as np
import tensorflow as tf
from absl.testing import parameterized

from tff_course.aggregators import MeanWithBitsFactory, QuantizedMeanFactory
from tff_course.errors import ConfigError
from tff_course.quantization import dorefa_g, uniform_noise_tf
from tff_course.runtime.tff_module import tff

SHAPES = [(3, 4), (5,)]
VALUE_TYPE = tff.StructType([tff.TensorType(np.float32, s) for s in SHAPES])
WEIGHT_TYPE = tff.TensorType(np.float32)


def client_values(num_clients, seed=0):
  rng = np.random.default_rng(seed)
  return [[rng.normal(size=s).astype(np.float32) for s in SHAPES] for _ in range(num_clients)]


def numpy_weighted_mean(values, weights):
  weights = np.asarray(weights, np.float64)
  return [sum(w * v[i] for w, v in zip(weights, values)) / weights.sum()
          for i in range(len(SHAPES))]


def tf_noise(value, round_index):
  """The noise the aggregator draws for one client's update (same seeds)."""
  fingerprint = np.int64(np.float32(sum(np.float32(t.sum()) for t in value)).view(np.int32))
  return [uniform_noise_tf(t.shape, [fingerprint, round_index * len(value) + i], -0.5).numpy()
          for i, t in enumerate(value)]


class QuantizedMeanTest(tf.test.TestCase, parameterized.TestCase):

  def run_rounds(self, factory, values, weights, rounds=1):
    process = factory.create(VALUE_TYPE, WEIGHT_TYPE)
    state = process.initialize()
    outputs = []
    for _ in range(rounds):
      output = process.next(state, values, weights)
      state = output.state
      outputs.append(output)
    return outputs

  @parameterized.parameters(2, 4, 8, 16, 32)
  def test_deterministic_matches_numpy(self, nbit):
    values, weights = client_values(4), [1.0, 3.0, 0.5, 2.0]
    output, = self.run_rounds(QuantizedMeanFactory(nbit, stochastic=False), values, weights)
    quantized = [[dorefa_g(t, nbit, noise=np.zeros_like(t)) for t in v] for v in values]
    for actual, expected in zip(output.result, numpy_weighted_mean(quantized, weights)):
      self.assertAllClose(actual, expected, rtol=1e-5, atol=1e-6)
    size = sum(int(np.prod(s)) for s in SHAPES)
    self.assertEqual(output.measurements["bits_up"], 4 * (nbit * size + 32 * 3))

  def test_stochastic_matches_numpy_with_the_same_draws_each_round(self):
    values, weights = client_values(3, seed=1), [2.0, 1.0, 1.0]
    outputs = self.run_rounds(QuantizedMeanFactory(2), values, weights, rounds=2)
    for round_index, output in enumerate(outputs):
      quantized = [[dorefa_g(t, 2, noise=n) for t, n in zip(v, tf_noise(v, round_index))]
                   for v in values]
      for actual, expected in zip(output.result, numpy_weighted_mean(quantized, weights)):
        self.assertAllClose(actual, expected, rtol=1e-5, atol=1e-6)
    self.assertNotAllClose(outputs[0].result[0], outputs[1].result[0])

  def test_more_bits_less_error(self):
    values, weights = client_values(5, seed=2), [1.0] * 5
    exact = numpy_weighted_mean(values, weights)
    errors = [np.abs(self.run_rounds(QuantizedMeanFactory(n), values, weights)[0].result[0]
                     - exact[0]).max() for n in (2, 4, 8, 16)]
    self.assertEqual(errors, sorted(errors, reverse=True))
    self.assertLess(errors[-1], 1e-3)

  def test_plain_mean_reports_float_bits(self):
    values, weights = client_values(3), [1.0, 1.0, 2.0]
    output, = self.run_rounds(MeanWithBitsFactory(), values, weights)
    for actual, expected in zip(output.result, numpy_weighted_mean(values, weights)):
      self.assertAllClose(actual, expected, rtol=1e-5)
    self.assertEqual(output.measurements["bits_up"], 3 * 32 * (12 + 5 + 1))

  @parameterized.parameters(0, 33, 1.5)
  def test_bad_nbit(self, nbit):
    with self.assertRaisesRegex(ConfigError, "nbit: got"):
      QuantizedMeanFactory(nbit)


if __name__ == "__main__":
  tf.test.main()
