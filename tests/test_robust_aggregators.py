"""Robust aggregators: NumPy references, exclusion of weight-0 clients, bits, errors."""

import collections
import math

import numpy as np
import tensorflow as tf
from absl.testing import parameterized

from tff_course.aggregators.robust import (CoordinateMedianFactory, KrumFactory,
                                           TrimmedMeanFactory)
from tff_course.algorithms import build_fedavg, build_optimizer
from tff_course.algorithms.model_fn import keras_model_fn
from tff_course.data import load_dataset
from tff_course.errors import ConfigError
from tff_course.partition import natural_partition
from tff_course.runtime.tff_module import tff
from tff_course.sampling import create_device

SHAPES = [(3, 4), (5,), (2, 2, 2), ()]
VALUE_TYPE = tff.to_type([tff.TensorType(np.float32, s) for s in SHAPES])
WEIGHT_TYPE = tff.TensorType(np.float32)


def random_clients(seed, num_clients, num_excluded):
  """Client values (excluded ones NaN) and weights (excluded ones 0)."""
  rng = np.random.default_rng(seed)
  values = [[rng.normal(size=s).astype(np.float32) for s in SHAPES]
            for _ in range(num_clients)]
  weights = rng.uniform(0.5, 3.0, size=num_clients).astype(np.float32)
  for i in rng.choice(num_clients, size=num_excluded, replace=False):
    values[i] = [np.full(s, np.nan, np.float32) for s in SHAPES]
    weights[i] = 0.0
  return values, [float(w) for w in weights]


def reference_trimmed(stacked, trim):
  ordered = np.sort(stacked, axis=0)
  return ordered[trim:len(stacked) - trim].mean(axis=0)


def reference(name, arg, values):
  """NumPy aggregate of `values` (the clients taking part) as a list of arrays."""
  leaves = [np.stack([v[i] for v in values]).astype(np.float64) for i in range(len(SHAPES))]
  n = len(values)
  if name == "median":
    return [np.median(x, axis=0) for x in leaves]
  if name == "trimmed":
    return [reference_trimmed(x, math.floor(arg * n)) for x in leaves]
  num_byzantine, num_selected = arg
  flat = np.concatenate([x.reshape(n, -1) for x in leaves], axis=1)
  distances = ((flat[:, None, :] - flat[None, :, :])**2).sum(axis=2)
  np.fill_diagonal(distances, np.inf)
  scores = np.sort(distances, axis=1)[:, :n - num_byzantine - 2].sum(axis=1)
  selected = np.argsort(scores, kind="stable")[:num_selected]
  return [x[selected].mean(axis=0) for x in leaves]


def build(name, arg):
  if name == "median":
    return CoordinateMedianFactory()
  if name == "trimmed":
    return TrimmedMeanFactory(arg)
  return KrumFactory(*arg)


def run(factory, values, weights, value_type=VALUE_TYPE):
  process = factory.create(value_type, WEIGHT_TYPE)
  return process.next(process.initialize(), values, weights)


class RobustAggregatorTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.named_parameters(
      ("median_odd", "median", None, 7, 2),
      ("median_even", "median", None, 9, 1),
      ("trimmed_none", "trimmed", 0.0, 6, 1),
      ("trimmed_fifth", "trimmed", 0.2, 9, 0),
      ("trimmed_most", "trimmed", 0.49, 8, 2),
      ("krum", "krum", (1, 1), 7, 1),
      ("multi_krum", "krum", (2, 3), 9, 2),
  )
  def test_matches_numpy(self, name, arg, num_clients, num_excluded):
    values, weights = random_clients(num_clients, num_clients, num_excluded)
    output = run(build(name, arg), values, weights)
    expected = reference(name, arg, [v for v, w in zip(values, weights) if w > 0])
    self.assertEqual(output.state, ())
    self.assertLen(output.result, len(SHAPES))
    for got, want in zip(output.result, expected):
      self.assertEqual(got.dtype, np.float32)
      self.assertAllClose(got, want, rtol=1e-5, atol=1e-6)
    bits_per_client = 32 * (sum(math.prod(s) for s in SHAPES) + 1)
    self.assertEqual(bits_per_client, 32 * 27)
    self.assertEqual(output.measurements, {"bits_up": num_clients * bits_per_client})
    self.assertEqual(np.asarray(output.measurements["bits_up"]).dtype, np.int64)

  def test_krum_scores_the_n_minus_f_minus_2_nearest(self):
    value_type = tff.TensorType(np.float32, (1,))
    values = [np.float32([x]) for x in (0.0, 1.0, 2.1, 10.0, 10.5)]
    # 2 nearest: scores 5.41, 2.21, 5.62, 62.66, 70.81; 3 nearest would pick 2.1.
    self.assertAllClose(run(KrumFactory(1), values, [1.0] * 5, value_type).result, [1.0])
    self.assertAllClose(run(KrumFactory(1, 2), values, [1.0] * 5, value_type).result, [0.5])
    self.assertAllClose(run(KrumFactory(0), values, [1.0] * 5, value_type).result, [2.1])

  def test_named_structure_and_no_clients_left(self):
    value_type = tff.to_type(collections.OrderedDict(
        kernel=tff.TensorType(np.float32, (2, 3)), bias=tff.TensorType(np.float32, (3,))))
    values = [collections.OrderedDict(kernel=np.full((2, 3), x, np.float32),
                                      bias=np.full(3, -x, np.float32)) for x in (1, 5, 2)]
    median = run(CoordinateMedianFactory(), values, [1.0, 1.0, 1.0], value_type).result
    self.assertEqual(list(median), ["kernel", "bias"])
    self.assertAllClose(median["kernel"], np.full((2, 3), 2.0))
    self.assertAllClose(median["bias"], np.full(3, -2.0))
    for factory in (CoordinateMedianFactory(), TrimmedMeanFactory(0.3)):
      output = run(factory, values, [0.0, 0.0, 0.0], value_type)
      self.assertAllClose(output.result["kernel"], np.zeros((2, 3)))
      self.assertEqual(output.measurements["bits_up"], 3 * 32 * 10)

  def test_one_huge_client_moves_only_the_mean(self):
    rng = np.random.default_rng(0)
    honest = [[rng.normal(1.0, 0.1, size=s).astype(np.float32) for s in SHAPES]
              for _ in range(8)]
    values = honest + [[np.full(s, 1e6, np.float32) for s in SHAPES]]
    weights = [1.0] * len(values)
    honest_mean = [np.mean([v[i] for v in honest], axis=0) for i in range(len(SHAPES))]
    mean = run(tff.aggregators.MeanFactory(), values, weights).result
    self.assertGreater(np.max(np.abs(mean[0] - honest_mean[0])), 1e4)
    for factory in (CoordinateMedianFactory(), TrimmedMeanFactory(0.2), KrumFactory(1),
                    KrumFactory(1, num_selected=4)):
      for got, want in zip(run(factory, values, weights).result, honest_mean):
        self.assertAllClose(got, want, atol=0.3)

  def test_replaces_mean_in_fedavg(self):
    toy = load_dataset("toy_hetero", num_clients=5, samples_per_client=40)
    partition = natural_partition(toy)
    data = [create_device(c, toy, partition[c], batch_size=10, shuffle_seed=None).dataset
            for c in partition]

    def model():
      return tf.keras.Sequential([tf.keras.layers.InputLayer(input_shape=(10,)),
                                  tf.keras.layers.Dense(4)])

    process = build_fedavg(keras_model_fn(model, data[0].element_spec),
                           client_optimizer=build_optimizer("sgd", 0.05),
                           server_optimizer=build_optimizer("sgd", 1.0),
                           model_aggregator=KrumFactory(1))
    state = process.initialize()
    before = process.get_model_weights(state).trainable
    output = process.next(state, data)
    after = process.get_model_weights(output.state).trainable
    self.assertEqual(output.metrics["aggregator"],
                     {"bits_up": len(data) * 32 * (44 + 1), "clients_dropped": 0})
    self.assertGreater(sum(float(np.sum(np.abs(a - b))) for a, b in zip(after, before)), 0)

  def test_argument_errors(self):
    for fraction in (-0.1, 0.5, 1, float("nan"), "0.1", True, None):
      with self.assertRaisesRegex(ConfigError, "trim_fraction: got .*expected a number"):
        TrimmedMeanFactory(fraction)
    for num_byzantine in (-1, 1.5, True):
      with self.assertRaisesRegex(ConfigError, "num_byzantine: got .*integer >= 0"):
        KrumFactory(num_byzantine)
    with self.assertRaisesRegex(ConfigError, "num_selected: got 0, expected an integer >= 1"):
      KrumFactory(1, num_selected=0)
    with self.assertRaisesRegex(ConfigError, "value_type: got .*float tensors"):
      CoordinateMedianFactory().create(tff.TensorType(np.int32, (2,)), WEIGHT_TYPE)
    with self.assertRaisesRegex(ConfigError, "value_type: got .*fully defined"):
      CoordinateMedianFactory().create(tff.TensorType(np.float32, (None,)), WEIGHT_TYPE)
    with self.assertRaisesRegex(ConfigError, "weight_type: got .*numeric scalar"):
      KrumFactory(1).create(VALUE_TYPE, tff.TensorType(np.float32, (2,)))

  def test_krum_needs_enough_clients_with_positive_weight(self):
    values, weights = random_clients(1, 5, 0)
    self.assertEqual(KrumFactory(1).min_clients(), 5)
    run(KrumFactory(1), values, weights)
    weights[2] = 0.0
    with self.assertRaisesRegex(Exception, r"KrumFactory\(num_byzantine=1, num_selected=1\)"
                                r": needs at least 5 clients with positive weight"):
      run(KrumFactory(1), values, weights)
    self.assertEqual(KrumFactory(1, num_selected=5).min_clients(), 6)
    with self.assertRaisesRegex(Exception, "needs at least 6 clients"):
      run(KrumFactory(1, num_selected=5), values, [1.0] * 5)


if __name__ == "__main__":
  tf.test.main()
