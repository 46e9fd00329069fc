"""Mask calibration: the geometric schedule, nesting, the rules, the re-scored masked model."""

import numpy as np
import tensorflow as tf
from absl.testing import parameterized

from tff_course.errors import ConfigError
from tff_course.sparse.calibration import (RULES, CalibrationSettings, calibrate_masks,
                                           eligible_keys, select)
from tff_course.sparse.fisher import fisher_sensitivity
from tff_course.sparse.mask_set import density, model_shapes


def small_model(seed=0):
  tf.keras.utils.set_random_seed(seed)
  inputs = tf.keras.Input((6,))
  x = tf.keras.layers.Dense(12, activation="tanh", name="dense1")(inputs)
  x = tf.keras.layers.LayerNormalization(name="norm")(x)
  x = tf.keras.layers.Dense(10, activation="tanh", name="dense2")(x)
  return tf.keras.Model(inputs, tf.keras.layers.Dense(3, name="head")(x))


class CalibrationTest(tf.test.TestCase, parameterized.TestCase):

  def setUp(self):
    super().setUp()
    self.model = small_model()
    rng = np.random.default_rng(0)
    self.images = rng.normal(size=(40, 6)).astype(np.float32)
    self.labels = rng.integers(0, 3, 40)

  def test_eligibility_leaves_out_the_head_and_optionally_norms_and_biases(self):
    self.assertEqual(eligible_keys(self.model), ["dense1/kernel", "dense1/bias", "norm/gamma",
                                                 "norm/beta", "dense2/kernel", "dense2/bias"])
    self.assertEqual(eligible_keys(self.model, norms=False, biases=False),
                     ["dense1/kernel", "dense2/kernel"])
    self.assertIn("head/kernel", eligible_keys(self.model, head=True))

  @parameterized.product(rule=RULES, scope=["global", "layer"], rounds=[1, 3])
  def test_the_kept_fraction_shrinks_geometrically_and_masks_nest(self, rule, scope, rounds):
    eligible = eligible_keys(self.model)
    settings = CalibrationSettings(density=0.2, rounds=rounds, rule=rule, scope=scope)
    history = []
    sensitivity = fisher_sensitivity(self.images, None, eligible, batch_size=20)
    masks = calibrate_masks(self.model, settings, eligible, sensitivity,
                            on_round=lambda r, m: history.append(m))
    self.assertLen(history, rounds)
    total = sum(np.prod(shape) for key, shape in model_shapes(self.model).items()
                if key in eligible)
    for round_index, round_masks in enumerate(history, start=1):
      kept = sum(round_masks[key].sum() for key in eligible)
      expected = 0.2 ** (round_index / rounds) * total
      self.assertAlmostEqual(kept / total, expected / total, delta=0.03)
      if round_index > 1:
        for key in eligible:
          self.assertTrue(np.all(round_masks[key] <= history[round_index - 2][key]), key)
    for key in ("head/kernel", "head/bias"):
      self.assertFalse(masks[key].any())
    if scope == "layer":
      for key in eligible:
        self.assertAlmostEqual(masks[key].mean(), 0.2, delta=0.5 / masks[key].size + 1e-9)

  def test_rules_choose_the_ends_of_the_score_or_magnitude_order(self):
    scores = {"a": np.array([5.0, 1.0, 3.0, 4.0]), "b": np.array([[2.0, 0.5], [6.0, 7.0]])}
    kept = {key: np.ones(value.shape, bool) for key, value in scores.items()}
    low = select(scores, kept, 0.25, "least_sensitive", "global")
    np.testing.assert_array_equal(low["a"], [0, 1, 0, 0])
    np.testing.assert_array_equal(low["b"], [[0, 1], [0, 0]])
    high = select(scores, kept, 0.25, "most_sensitive", "global")
    np.testing.assert_array_equal(high["a"], [0, 0, 0, 0])
    np.testing.assert_array_equal(high["b"], [[0, 0], [1, 1]])
    per_layer = select(scores, kept, 0.5, "least_sensitive", "layer")
    np.testing.assert_array_equal(per_layer["a"], [0, 1, 1, 0])
    np.testing.assert_array_equal(per_layer["b"], [[1, 1], [0, 0]])
    dropped = dict(kept, a=np.array([True, False, True, True]))
    np.testing.assert_array_equal(select(scores, dropped, 0.375, "least_sensitive",
                                         "global")["a"], [0, 0, 1, 0])

  def test_magnitude_and_random_rules_read_the_weights_and_the_seed(self):
    eligible = ["dense1/kernel"]
    weights = np.abs(self.model.get_layer("dense1").kernel.numpy())
    unused = lambda model: self.fail("magnitude and random rules need no sensitivity")
    for rule, keep_small in (("lowest_magnitude", True), ("highest_magnitude", False)):
      masks = calibrate_masks(self.model, CalibrationSettings(0.25, rounds=2, rule=rule),
                              eligible, unused)
      kept = masks["dense1/kernel"] > 0
      if keep_small:
        self.assertLessEqual(weights[kept].max(), weights[~kept].min())
      else:
        self.assertGreaterEqual(weights[kept].min(), weights[~kept].max())
    settings = CalibrationSettings(0.25, rounds=2, rule="random")
    one = calibrate_masks(self.model, settings, eligible, unused, seed=1)
    again = calibrate_masks(self.model, settings, eligible, unused, seed=1)
    other = calibrate_masks(self.model, settings, eligible, unused, seed=2)
    np.testing.assert_array_equal(one["dense1/kernel"], again["dense1/kernel"])
    self.assertFalse(np.array_equal(one["dense1/kernel"], other["dense1/kernel"]))

  def test_later_rounds_score_the_model_with_dropped_entries_scaled_then_restore_it(self):
    eligible = ["dense1/kernel", "dense2/kernel"]
    original = {v.name: v.numpy() for v in self.model.trainable_variables}
    seen = []
    central = fisher_sensitivity(self.images, None, eligible, batch_size=40)

    def sensitivity(model):
      seen.append(model.get_layer("dense1").kernel.numpy())
      return central(model)

    history = []
    calibrate_masks(self.model, CalibrationSettings(0.1, rounds=3, excluded_scale=0.1),
                    eligible, sensitivity, on_round=lambda r, m: history.append(m))
    self.assertLen(seen, 3)
    np.testing.assert_array_equal(seen[0], original["dense1/kernel:0"])
    kept = history[0]["dense1/kernel"] > 0
    self.assertFalse(kept.all())
    np.testing.assert_array_equal(seen[1][kept], original["dense1/kernel:0"][kept])
    np.testing.assert_allclose(seen[1][~kept], 0.1 * original["dense1/kernel:0"][~kept])
    for variable in self.model.trainable_variables:
      np.testing.assert_array_equal(variable.numpy(), original[variable.name])

  def test_least_sensitive_masks_change_the_loss_less_than_most_sensitive_ones(self):
    eligible = eligible_keys(self.model)
    sensitivity = fisher_sensitivity(self.images, None, eligible, batch_size=40)
    loss = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    targets = np.argmax(self.model.predict(self.images, verbose=0), 1)
    start = [v.numpy() for v in self.model.trainable_variables]
    changes = {}
    for rule in ("least_sensitive", "most_sensitive"):
      masks = calibrate_masks(self.model, CalibrationSettings(0.1, rounds=2, rule=rule),
                              eligible, sensitivity)
      rng = np.random.default_rng(0)
      for variable in self.model.trainable_variables:
        key = variable.name.split(":")[0]
        variable.assign_add(0.3 * masks[key] * rng.normal(size=variable.shape))
      changes[rule] = float(loss(targets, self.model(self.images)))
      for variable, value in zip(self.model.trainable_variables, start):
        variable.assign(value)
    self.assertLess(changes["least_sensitive"], changes["most_sensitive"])

  def test_bad_settings_are_one_line(self):
    for value in (0, 1.5, -0.1, float("nan"), True):
      with self.assertRaisesRegex(ConfigError, r"density: got .*, expected a number in "
                                               r"\(0, 1\]"):
        CalibrationSettings(density=value)
    with self.assertRaisesRegex(ConfigError, r"calibration rounds: got 0, expected an "
                                             r"integer >= 1"):
      CalibrationSettings(0.1, rounds=0)
    with self.assertRaisesRegex(ConfigError, "rule: got 'smallest', expected one of "
                                             "least_sensitive, most_sensitive, "):
      CalibrationSettings(0.1, rule="smallest")
    with self.assertRaisesRegex(ConfigError, "scope: got 'model'"):
      CalibrationSettings(0.1, scope="model")
    self.assertEqual(density({"x": np.ones(3)}), 1.0)
