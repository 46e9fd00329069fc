"""The language-model loss of `shakespeare_lstm_lm`, against NumPy, in Keras and in TFF's
forward pass."""

import numpy as np
import tensorflow as tf

from tff_course.algorithms.model_fn import keras_model_fn
from tff_course.models import build_model


def _cross_entropy(logits, labels):
  shifted = logits - logits.max(axis=-1, keepdims=True)
  log_probabilities = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
  return -np.take_along_axis(log_probabilities, labels[..., None], axis=-1)[..., 0]


class EveryCharacterLossTest(tf.test.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    tf.keras.utils.set_random_seed(0)
    cls.model = build_model("shakespeare_lstm_lm", (80,), 81)
    cls.every_logits = tf.keras.Model(cls.model.input, cls.model.layers[-2].output)
    rng = np.random.default_rng(0)
    cls.codes = rng.integers(0, 81, (3, 80)).astype(np.int32)
    cls.labels = rng.integers(0, 81, 3).astype(np.int32)

  def test_it_returns_the_logits_after_the_window_and_adds_the_window_loss(self):
    logits = self.every_logits(self.codes).numpy()
    output = self.model(self.codes, training=True).numpy()
    self.assertAllClose(output, logits[:, -1], atol=1e-6)
    self.assertLen(self.model.losses, 1)
    expected = _cross_entropy(logits[:, :-1], self.codes[:, 1:]).mean()
    self.assertAllClose(float(self.model.losses[0]), expected, rtol=1e-5)
    self.assertEqual(self.model.count_params(), 818137)

  def test_outside_training_it_adds_nothing(self):
    self.model(self.codes, training=False)
    self.assertEmpty(self.model.losses)

  def test_tffs_forward_pass_counts_the_window_loss(self):
    spec = (tf.TensorSpec([None, 80], tf.int32), tf.TensorSpec([None], tf.int32))
    model = keras_model_fn(lambda: build_model("shakespeare_lstm_lm", (80,), 81), spec)()

    @tf.function
    def loss_and_logits(codes, labels):
      output = model.forward_pass((codes, labels), training=True)
      return output.loss, output.predictions

    loss, last = loss_and_logits(self.codes, self.labels)
    keras_model = model._keras_model  # pylint: disable=protected-access
    every = tf.keras.Model(keras_model.input, keras_model.layers[-2].output)(self.codes).numpy()
    self.assertAllClose(last, every[:, -1], atol=1e-6)
    expected = (_cross_entropy(every[:, -1], self.labels).mean() +
                _cross_entropy(every[:, :-1], self.codes[:, 1:]).mean())
    self.assertAllClose(float(loss), expected, rtol=1e-5)
