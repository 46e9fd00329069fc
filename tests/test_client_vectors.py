"""Per-client task vectors against NumPy: one full-batch SGD step of softmax regression."""

import numpy as np
import tensorflow as tf

from tff_course.sparse.client_vectors import (client_task_vectors, mean_off_diagonal,
                                              mean_vector_norm_ratio, pairwise_cosines)
from tff_course.sparse.finetune import FinetuneSettings
from tff_course.sparse.sgdm_step import SGDMSettings
from tff_course.sparse.task_vectors import model_weights

RATE = 0.3


def softmax_gradient(kernel, bias, x, y):
  """The gradients of the mean cross-entropy of softmax(x kernel + bias)."""
  logits = x @ kernel + bias
  probabilities = np.exp(logits - logits.max(axis=1, keepdims=True))
  probabilities /= probabilities.sum(axis=1, keepdims=True)
  residual = probabilities - np.eye(kernel.shape[1])[y]
  return x.T @ residual / len(x), residual.mean(axis=0)


class ClientTaskVectorTest(tf.test.TestCase):

  def test_one_full_batch_step_is_minus_rate_times_the_gradient_under_the_mask(self):
    rng = np.random.default_rng(0)
    model = tf.keras.Sequential([tf.keras.Input((4,)), tf.keras.layers.Dense(3, name="dense")])
    start = model_weights(model, ["dense/kernel", "dense/bias"])
    masks = {"dense/kernel": (rng.random((4, 3)) < 0.5).astype(np.float32),
             "dense/bias": np.ones(3, np.float32)}
    clients = [(rng.normal(size=(6, 4)).astype(np.float32), rng.integers(0, 3, 6))
               for _ in range(3)]
    settings = FinetuneSettings(steps=1, batch_size=6, learning_rate=RATE, schedule="constant",
                                sgdm=SGDMSettings(momentum=0.0))
    vectors = client_task_vectors(model, start, masks, clients, settings)
    self.assertLen(vectors, 3)
    for vector, (x, y) in zip(vectors, clients):
      kernel_gradient, bias_gradient = softmax_gradient(start["dense/kernel"],
                                                        start["dense/bias"], x, y)
      np.testing.assert_allclose(vector["dense/kernel"],
                                 -RATE * kernel_gradient * masks["dense/kernel"], atol=1e-6)
      np.testing.assert_allclose(vector["dense/bias"], -RATE * bias_gradient, atol=1e-6)
    np.testing.assert_array_equal(model.layers[0].kernel.numpy(), start["dense/kernel"])

  def test_agreement_measures(self):
    same = {"w": np.array([1.0, 2.0])}
    opposite = {"w": np.array([-1.0, -2.0])}
    orthogonal = {"w": np.array([2.0, -1.0])}
    cosines = pairwise_cosines([same, opposite, orthogonal])
    np.testing.assert_allclose(cosines, [[1, -1, 0], [-1, 1, 0], [0, 0, 1]], atol=1e-12)
    self.assertAlmostEqual(mean_off_diagonal(cosines), -1 / 3)
    self.assertAlmostEqual(mean_vector_norm_ratio([same, same]), 1.0)
    self.assertAlmostEqual(mean_vector_norm_ratio([same, opposite]), 0.0)
    self.assertAlmostEqual(mean_vector_norm_ratio([same, orthogonal]), np.sqrt(0.5))
    self.assertTrue(np.isnan(mean_off_diagonal(np.ones((1, 1)))))
