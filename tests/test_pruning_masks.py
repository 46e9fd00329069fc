import math

import numpy as np
import tensorflow as tf
from absl.testing import parameterized

from pruning.masks import (apply_masks, check_target_sparsity, combine, global_magnitude_masks,
                           kernels, layerwise_magnitude_masks, mask_enforcer, prunable_layers,
                           pruned_count, zeros_needed)
from pruning.reference import Arrays
from pruning.training import FitSettings, fit
from tff_course.errors import ConfigError


def tiny_model(seed=0):
  tf.keras.utils.set_random_seed(seed)
  layers = tf.keras.layers
  return tf.keras.Sequential([
      layers.InputLayer(input_shape=(6, 6, 3)),
      layers.Conv2D(4, 3, padding="same", activation="relu", name="c"),
      layers.MaxPool2D(2, name="p"),
      layers.Flatten(name="f"),
      layers.Dense(8, activation="relu", name="d"),
      layers.Dense(3, name="out"),
  ])


class MagnitudeMaskTest(tf.test.TestCase, parameterized.TestCase):

  def setUp(self):
    super().setUp()
    rng = np.random.default_rng(1)
    self.weights = {"a": rng.normal(size=(4, 5)), "b": rng.normal(size=(3, 3, 2))}

  @parameterized.parameters(0, 1, 7, 20, 38)
  def test_global_matches_a_numpy_threshold(self, count):
    masks = global_magnitude_masks(self.weights, count)
    flat = np.concatenate([np.abs(w).ravel() for w in self.weights.values()])
    threshold = np.sort(flat)[count - 1] if count else -1.0
    for name, w in self.weights.items():
      self.assertAllEqual(masks[name], (np.abs(w) > threshold).astype(np.float32))
    self.assertEqual(pruned_count(masks), count)

  def test_global_prunes_exactly_count_when_values_tie(self):
    masks = global_magnitude_masks({"t": np.zeros((10,))}, 4)
    self.assertEqual(pruned_count(masks), 4)

  def test_layerwise_prunes_the_same_fraction_of_each(self):
    masks = layerwise_magnitude_masks(self.weights, 0.5)
    for name, w in self.weights.items():
      self.assertEqual(int(np.sum(masks[name] == 0)), math.ceil(0.5 * w.size))
      kept = np.abs(w)[masks[name] == 1]
      dropped = np.abs(w)[masks[name] == 0]
      self.assertGreaterEqual(kept.min(), dropped.max())

  def test_combine_prunes_where_either_prunes(self):
    first = {"a": np.array([1, 0, 1], np.float32)}
    second = {"a": np.array([1, 1, 0], np.float32), "b": np.zeros(2, np.float32)}
    self.assertAllEqual(combine(first, second)["a"], [1, 0, 0])
    self.assertAllEqual(combine(first, second)["b"], [0, 0])


class TargetTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.parameters(-0.1, 1.0, 1.5, float("nan"), "0.5", True, None)
  def test_bad_targets(self, target):
    with self.assertRaisesRegex(ConfigError, r"target sparsity: got .*expected a number in "
                                             r"\[0, 1\)"):
      check_target_sparsity(target)

  def test_zeros_needed_counts_every_parameter(self):
    self.assertEqual(zeros_needed(0.9, 1000, 990), 900)
    self.assertEqual(zeros_needed(0.0, 1000, 990), 0)
    self.assertEqual(zeros_needed(0.7, 10, 9), 7)

  def test_a_target_beyond_the_kernels_is_refused(self):
    with self.assertRaisesRegex(ConfigError, "expected at most 0.990000"):
      zeros_needed(0.995, 1000, 990)


class ApplyMasksTest(tf.test.TestCase):

  def test_model_weights_equal_numpy_products(self):
    model = tiny_model()
    before = kernels(model)
    masks = global_magnitude_masks(before, 100)
    apply_masks(model, masks)
    for name, value in kernels(model).items():
      self.assertAllEqual(value, before[name] * masks[name])

  def test_unknown_weight_and_wrong_shape(self):
    model = tiny_model()
    with self.assertRaisesRegex(ConfigError, "mask 'nope/kernel': the model has no such"):
      apply_masks(model, {"nope/kernel": np.ones(3)})
    with self.assertRaisesRegex(ConfigError, r"mask 'd/kernel': got shape \(3,\), expected "
                                             r"\(36, 8\)"):
      apply_masks(model, {"d/kernel": np.ones(3)})

  def test_model_without_prunable_layers(self):
    model = tf.keras.Sequential([tf.keras.layers.InputLayer(input_shape=(4,)),
                                 tf.keras.layers.Dropout(0.1)], name="bare")
    with self.assertRaisesRegex(ConfigError, "model 'bare': no prunable layers .*Dropout"):
      prunable_layers(model)

  def test_masks_hold_through_training(self):
    model = tiny_model()
    masks = global_magnitude_masks(kernels(model), 150)
    rng = np.random.default_rng(0)
    data = Arrays(rng.random((64, 6, 6, 3), np.float32), rng.integers(0, 3, 64))
    fit(model, data, FitSettings(epochs=2, batch_size=16, learning_rate=0.05), masks=masks)
    for name, value in kernels(model).items():
      self.assertAllEqual(value[masks[name] == 0], np.zeros(int(np.sum(masks[name] == 0))))
      self.assertGreater(np.count_nonzero(value), 0)

  def test_zero_epochs_still_apply_the_masks(self):
    model = tiny_model()
    masks = global_magnitude_masks(kernels(model), 150)
    data = Arrays(np.zeros((4, 6, 6, 3), np.float32), np.zeros(4, np.int64))
    self.assertEqual(fit(model, data, FitSettings(epochs=0), masks=masks), [])
    self.assertEqual(sum(int(np.sum(v == 0)) for v in kernels(model).values()), 150)

  def test_enforcer_is_a_keras_callback(self):
    self.assertIsInstance(mask_enforcer({}), tf.keras.callbacks.Callback)


class SeedTest(tf.test.TestCase):

  def test_same_seed_same_weights(self):
    rng = np.random.default_rng(0)
    data = Arrays(rng.random((64, 6, 6, 3), np.float32), rng.integers(0, 3, 64))
    runs = []
    for _ in range(2):
      model = tiny_model(seed=3)
      fit(model, data, FitSettings(epochs=2, batch_size=16, seed=3))
      runs.append(model.get_weights())
    for first, second in zip(*runs):
      self.assertAllEqual(first, second)


if __name__ == "__main__":
  tf.test.main()
