import dataclasses

import numpy as np
import tensorflow as tf
from absl.testing import parameterized

from pruning.masks import kernels
from pruning.methods import METHODS, PolynomialSchedule, PruneSettings, get_method
from pruning.methods.filters import (UnitLayer, filter_masks, l1_unit_norms, removed_units,
                                     smallest_fraction, unit_layers)
from pruning.methods.snip import connection_sensitivity
from pruning.reference import Arrays, TaskData
from pruning.score import count_zeros
from pruning.tfmot_reference import tfmot_prune_low_magnitude
from pruning.training import FitSettings
from tests.test_pruning_masks import tiny_model
from tff_course.errors import ConfigError

TINY = PruneSettings(fine_tune=FitSettings(epochs=1, batch_size=32, learning_rate=1e-3),
                     gradual_epochs=1, prune_every=1, snip_epochs=1, snip_examples=30)
EVERY_METHOD = dict(METHODS, tfmot=tfmot_prune_low_magnitude)


def tiny_data(seed=0):
  rng = np.random.default_rng(seed)
  make = lambda n: Arrays(rng.random((n, 6, 6, 3), np.float32), rng.integers(0, 3, n))
  return TaskData(train=make(96), validation=make(30), test=make(30),
                  label_names=["a", "b", "c"], source="random")


class ContractTest(tf.test.TestCase, parameterized.TestCase):
  """Every method, ours and the tfmot reference, through the same checks."""

  @parameterized.named_parameters(*[(name, name) for name in EVERY_METHOD])
  def test_contract(self, name):
    model, data = tiny_model(), tiny_data()
    before = model.get_weights()
    result = EVERY_METHOD[name](model, data, 0.6, settings=TINY)
    for original, now in zip(before, model.get_weights()):
      self.assertAllEqual(original, now)
    zeros, total = count_zeros(result.model.get_weights())
    self.assertGreaterEqual(zeros / total, 0.6)
    self.assertLess(zeros / total, 0.75)
    weights = {w.name.split(":")[0]: w.numpy() for w in result.model.weights}
    for weight, mask in result.masks.items():
      self.assertAllEqual(weights[weight][mask == 0], np.zeros(int(np.sum(mask == 0))))
    self.assertEqual([w.shape for w in result.model.weights], [w.shape for w in model.weights])
    self.assertEqual(result.target_sparsity, 0.6)

  @parameterized.named_parameters(*[(name, name) for name in EVERY_METHOD])
  def test_bad_targets(self, name):
    for target in (1.0, -0.5):
      with self.assertRaisesRegex(ConfigError, "target sparsity: got"):
        EVERY_METHOD[name](tiny_model(), tiny_data(), target, settings=TINY)

  def test_no_prunable_layers(self):
    model = tf.keras.Sequential([tf.keras.layers.InputLayer(input_shape=(6, 6, 3)),
                                 tf.keras.layers.Flatten()], name="flat")
    for method in METHODS.values():
      with self.assertRaisesRegex(ConfigError, "model 'flat': no prunable layers"):
        method(model, tiny_data(), 0.5, settings=TINY)

  def test_unknown_method(self):
    with self.assertRaisesRegex(ConfigError, "method: got 'obd', expected one of "
                                             "global_magnitude"):
      get_method("obd")

  def test_same_seed_same_pruned_model(self):
    runs = [METHODS["global_magnitude"](tiny_model(), tiny_data(), 0.5, settings=TINY)
            for _ in range(2)]
    for first, second in zip(runs[0].model.get_weights(), runs[1].model.get_weights()):
      self.assertAllEqual(first, second)


class ScheduleTest(tf.test.TestCase):

  def test_matches_the_papers_formula(self):
    schedule = PolynomialSchedule(0.1, 0.9, begin_step=10, end_step=110, frequency=25)
    for step in range(0, 130, 5):
      progress = min(max((step - 10) / 100, 0), 1)
      self.assertAlmostEqual(schedule(step)[1], 0.9 + (0.1 - 0.9) * (1 - progress) ** 3)
    self.assertEqual([s for s in range(130) if schedule(s)[0]], [10, 35, 60, 85, 110])

  def test_bad_schedules(self):
    with self.assertRaisesRegex(ConfigError, "final sparsity: got 1.0"):
      PolynomialSchedule(0.0, 1.0, 0, 10, 1)
    with self.assertRaisesRegex(ConfigError, "expected 0 <= begin < end"):
      PolynomialSchedule(0.0, 0.5, 10, 10, 1)
    with self.assertRaisesRegex(ConfigError, "frequency: got 0"):
      PolynomialSchedule(0.0, 0.5, 0, 10, 0)

  def test_bad_settings(self):
    with self.assertRaisesRegex(ConfigError, "snip_epochs: got -1"):
      dataclasses.replace(TINY, snip_epochs=-1)


class FilterTest(tf.test.TestCase):

  def test_norms_and_removed_units_match_numpy(self):
    kernel = np.random.default_rng(0).normal(size=(3, 3, 2, 5))
    norms = np.array([np.sum(np.abs(kernel[..., j])) for j in range(5)])
    self.assertAllClose(l1_unit_norms(kernel), norms)
    self.assertAllEqual(removed_units(kernel, 0.4), np.sort(np.argsort(norms)[:2]))
    self.assertLen(removed_units(kernel, 0.999), 4)

  def test_reader_rows_follow_channels_last_flattening(self):
    conv = np.ones((1, 1, 1, 2), np.float32)
    conv[..., 0] = 0.1
    layers = [UnitLayer("conv/kernel", conv, "conv/bias", True, True),
              UnitLayer("dense/kernel", np.ones((6, 4)), None, False, False)]
    masks = filter_masks(layers, 0.5)
    self.assertAllEqual(masks["conv/bias"], [0, 1])
    self.assertAllEqual(masks["dense/kernel"][:, 0], [0, 1, 0, 1, 0, 1])

  def test_zeroing_the_readers_changes_no_output(self):
    model, x = tiny_model(), tiny_data().train.x
    layers = unit_layers(model)
    self.assertEqual([layer.feeds_next for layer in layers], [True, True, False])
    masks = filter_masks(layers, 0.5)
    variables = {w.name.split(":")[0]: w for w in model.weights}
    for name in ("c/kernel", "c/bias", "d/kernel", "d/bias"):
      variables[name].assign(variables[name] * masks[name])
    units_only = model(x).numpy()
    for name in ("d/kernel", "out/kernel"):
      variables[name].assign(variables[name] * masks[name])
    self.assertAllClose(model(x).numpy(), units_only, atol=0, rtol=0)
    self.assertGreater(np.sum(masks["d/kernel"] == 0), np.sum(masks["c/kernel"] == 0))

  def test_smallest_fraction_reaches_the_target(self):
    layers = unit_layers(tiny_model())
    fraction = smallest_fraction(layers, 200)
    pruned = lambda f: sum(int(np.sum(m == 0)) for m in filter_masks(layers, f).values())
    self.assertGreaterEqual(pruned(fraction), 200)
    self.assertLess(pruned(fraction - 1 / 4096), 200)
    with self.assertRaisesRegex(ConfigError, "filter pruning reaches at most"):
      smallest_fraction(layers, 10_000)


class SnipTest(tf.test.TestCase):

  def test_sensitivity_of_a_linear_softmax_matches_numpy(self):
    rng = np.random.default_rng(0)
    model = tf.keras.Sequential([tf.keras.layers.InputLayer(input_shape=(4,)),
                                 tf.keras.layers.Dense(3, name="lin")])
    x, y = rng.normal(size=(8, 4)).astype(np.float32), rng.integers(0, 3, 8)
    w, b = (v.numpy() for v in model.weights)
    logits = x @ w + b
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    gradient = x.T @ (p - np.eye(3)[y]) / len(y)
    saliency = connection_sensitivity(model, Arrays(x, y))
    self.assertAllClose(saliency["lin/kernel"], np.abs(gradient * w), rtol=1e-4, atol=1e-7)

  def test_snip_ignores_the_trained_weights(self):
    data = tiny_data()
    model = tiny_model()
    other = tiny_model(seed=5)
    settings = dataclasses.replace(TINY, snip_epochs=0)
    first = METHODS["snip"](model, data, 0.5, settings=settings)
    second = METHODS["snip"](other, data, 0.5, settings=settings)
    for a, b in zip(first.model.get_weights(), second.model.get_weights()):
      self.assertAllEqual(a, b)
    self.assertNotAllClose(kernels(model)["d/kernel"], kernels(other)["d/kernel"])


if __name__ == "__main__":
  tf.test.main()
