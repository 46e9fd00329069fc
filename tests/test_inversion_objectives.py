"""The attacks' objectives against NumPy: squared distance and norm, cosine distance,
total variation."""

import numpy as np
import tensorflow as tf

from tasks.inversion.objectives import (cosine_distance, soft_cross_entropy, squared_distance,
                                        squared_norm, total_variation)


def layers(seed):
  rng = np.random.default_rng(seed)
  return [rng.normal(size=(3, 4)).astype(np.float32), rng.normal(size=(5,)).astype(np.float32)]


def flat(tensors):
  return np.concatenate([np.ravel(t) for t in tensors]).astype(np.float64)


class ObjectivesTest(tf.test.TestCase):

  def test_squared_norm_and_distance_treat_all_layers_as_one_vector(self):
    g, t = layers(0), layers(1)
    self.assertAllClose(squared_norm(g), np.sum(flat(g) ** 2), rtol=1e-6)
    self.assertAllClose(squared_distance(g, t), np.sum((flat(g) - flat(t)) ** 2), rtol=1e-6)

  def test_cosine_distance_matches_numpy(self):
    g, t = flat(layers(0)), flat(layers(1))
    expected = 1 - g @ t / (np.linalg.norm(g) * np.linalg.norm(t))
    self.assertAllClose(cosine_distance(layers(0), layers(1)), expected, rtol=1e-5)
    self.assertAllClose(cosine_distance(layers(0), layers(0)), 0.0, atol=1e-6)
    self.assertAllClose(cosine_distance(layers(0), [-x for x in layers(0)]), 2.0, rtol=1e-6)

  def test_total_variation_is_the_mean_neighbour_difference(self):
    images = np.random.default_rng(2).uniform(size=(2, 5, 6, 3)).astype(np.float32)
    expected = (np.mean(np.abs(np.diff(images, axis=1))) +
                np.mean(np.abs(np.diff(images, axis=2))))
    self.assertAllClose(total_variation(images), expected, rtol=1e-6)

  def test_soft_cross_entropy_matches_numpy(self):
    rng = np.random.default_rng(3)
    logits = rng.normal(size=(4, 6)).astype(np.float32)
    labels = rng.dirichlet(np.ones(6), size=4).astype(np.float32)
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_softmax = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    expected = np.mean(np.sum(-labels * log_softmax, axis=1))
    self.assertAllClose(soft_cross_entropy(logits, labels), expected, rtol=1e-5)


if __name__ == "__main__":
  tf.test.main()
