"""The Fisher diagonal against softmax regression's closed form, and the ridge head."""

import numpy as np
import tensorflow as tf
from absl.testing import parameterized

from tff_course.errors import ConfigError
from tff_course.sparse.fisher import fisher_diagonal, fisher_targets, sampled_targets
from tff_course.sparse.head import fit_head, ridge_head, with_new_head


def softmax_regression(weights, bias):
  model = tf.keras.Sequential([tf.keras.Input((weights.shape[0],)),
                               tf.keras.layers.Dense(weights.shape[1], name="head")])
  model.layers[-1].set_weights([weights, bias])
  return model


def closed_form_fisher(x, weights, bias, classes, objective):
  """d log p(y|x)/dW = x (e_y - p)^T and d/db = e_y - p; the logit's: x e_y^T and e_y."""
  logits = x @ weights + bias
  p = np.exp(logits - logits.max(1, keepdims=True))
  p /= p.sum(1, keepdims=True)
  onehot = np.eye(weights.shape[1])[classes]
  residual = onehot - p if objective == "log_prob" else onehot
  kernel = np.mean([np.outer(xi, ri) ** 2 for xi, ri in zip(x, residual)], axis=0)
  return kernel, np.mean(residual ** 2, axis=0)


class FisherTest(tf.test.TestCase, parameterized.TestCase):

  def setUp(self):
    super().setUp()
    rng = np.random.default_rng(7)
    self.x = rng.normal(size=(45, 6)).astype(np.float32)
    self.labels = rng.integers(0, 4, 45)
    self.weights = rng.normal(size=(6, 4)).astype(np.float32)
    self.bias = rng.normal(size=4).astype(np.float32)

  @parameterized.product(targets=["sampled", "empirical"], objective=["log_prob", "logit"],
                         batch_size=[1, 8, 45])
  def test_matches_the_closed_form_of_softmax_regression(self, targets, objective,
                                                         batch_size):
    model = softmax_regression(self.weights, self.bias)
    fisher = fisher_diagonal(model, self.x, self.labels, targets=targets,
                             objective=objective, batch_size=batch_size, seed=3)
    classes = fisher_targets(model, self.x, self.labels, targets=targets, seed=3,
                             batch_size=batch_size)
    if targets == "empirical":
      np.testing.assert_array_equal(classes, self.labels)
    kernel, bias = closed_form_fisher(self.x.astype(np.float64), self.weights, self.bias,
                                      classes, objective)
    np.testing.assert_allclose(fisher["head/kernel"], kernel, rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(fisher["head/bias"], bias, rtol=1e-4, atol=1e-7)

  def test_it_is_the_mean_of_squares_not_the_square_of_the_mean(self):
    model = softmax_regression(self.weights, self.bias)
    fisher = fisher_diagonal(model, self.x, self.labels, targets="empirical")
    with tf.GradientTape() as tape:
      log_p = tf.nn.log_softmax(model(self.x))
      mean = tf.reduce_mean(tf.gather(log_p, self.labels, batch_dims=1))
    squared_mean = tape.gradient(mean, model.layers[-1].bias).numpy() ** 2
    self.assertTrue(np.all(fisher["head/bias"] > squared_mean))

  def test_sampled_targets_follow_the_predictive_distribution_and_the_seed(self):
    logits = np.log(np.tile([[0.1, 0.6, 0.3]], (20_000, 1)))
    draws = sampled_targets(logits, seed=1)
    np.testing.assert_allclose(np.bincount(draws, minlength=3) / len(draws),
                               [0.1, 0.6, 0.3], atol=0.01)
    np.testing.assert_array_equal(draws, sampled_targets(logits, seed=1))
    self.assertFalse(np.array_equal(draws, sampled_targets(logits, seed=2)))

  def test_bad_arguments_are_one_line(self):
    model = softmax_regression(self.weights, self.bias)
    with self.assertRaisesRegex(ConfigError, "targets: got 'true', expected one of sampled, "
                                             "empirical"):
      fisher_diagonal(model, self.x, targets="true")
    with self.assertRaisesRegex(ConfigError, "targets: 'empirical' needs labels"):
      fisher_diagonal(model, self.x, targets="empirical")
    with self.assertRaisesRegex(ConfigError, "objective: got 'loss'"):
      fisher_diagonal(model, self.x, objective="loss")
    with self.assertRaisesRegex(ConfigError, "calibration examples: got none"):
      fisher_diagonal(model, self.x[:0])


class HeadTest(tf.test.TestCase):

  def test_ridge_matches_a_numpy_solve_with_an_unpenalized_bias(self):
    rng = np.random.default_rng(0)
    features = rng.normal(size=(80, 5)) + 3.0
    labels = rng.integers(0, 3, 80)
    kernel, bias = ridge_head(features, labels, 3, l2=2.5)
    augmented = np.hstack([features, np.ones((80, 1))])
    penalty = np.diag([2.5] * 5 + [0.0])
    solution = np.linalg.solve(augmented.T @ augmented + penalty,
                               augmented.T @ np.eye(3)[labels])
    np.testing.assert_allclose(kernel, solution[:5], atol=1e-10)
    np.testing.assert_allclose(bias, solution[5], atol=1e-10)
    with self.assertRaisesRegex(ConfigError, "l2: got -1, expected a finite number >= 0"):
      ridge_head(features, labels, 3, l2=-1)

  def test_a_new_head_fitted_on_frozen_features_separates_the_classes(self):
    tf.keras.utils.set_random_seed(0)
    inputs = tf.keras.Input((4,))
    hidden = tf.keras.layers.Dense(16, activation="relu", name="body")(inputs)
    model = tf.keras.Model(inputs, tf.keras.layers.Dense(10, name="linear")(hidden))
    rng = np.random.default_rng(1)
    centers = rng.normal(size=(3, 4)) * 4
    labels = rng.integers(0, 3, 300)
    images = (centers[labels] + rng.normal(size=(300, 4))).astype(np.float32)
    backbone_before = model.get_layer("body").get_weights()
    for method in ("ridge", "train"):
      new = with_new_head(model, 3, seed=0)
      self.assertEqual(new.layers[-1].name, "linear")
      fit_head(new, images, labels, method=method, epochs=50)
      accuracy = np.mean(np.argmax(new.predict(images, verbose=0), 1) == labels)
      self.assertGreater(accuracy, 0.9, method)
    for before, after in zip(backbone_before, model.get_layer("body").get_weights()):
      np.testing.assert_array_equal(before, after)
    with self.assertRaisesRegex(ConfigError, "head method: got 'lasso'"):
      fit_head(new, images, labels, method="lasso")
