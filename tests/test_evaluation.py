"""`evaluate_weights` (the runner's test metrics) agrees with Keras' own `evaluate`."""

import numpy as np
import tensorflow as tf
from absl.testing import parameterized

from tff_course.algorithms.evaluation import (evaluate_weights, example_losses, mean_losses,
                                             padded_size)
from tff_course.data.dataset import Modality
from tff_course.experiment.federation import keras_model_weights


def small_model(input_shape, classes=5):
  return tf.keras.Sequential([tf.keras.layers.InputLayer(input_shape=input_shape),
                              tf.keras.layers.Flatten(),
                              tf.keras.layers.Dense(8, activation="relu"),
                              tf.keras.layers.Dense(classes)])


class EvaluateWeightsTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.parameters(Modality.IMAGE, Modality.FEATURES)
  def test_matches_keras_evaluate(self, modality):
    rng = np.random.default_rng(int(modality is Modality.IMAGE))
    count = 2_345
    if modality is Modality.IMAGE:
      x = rng.integers(0, 256, (count, 4, 4, 3), dtype=np.uint8)
      inputs = x.astype(np.float64) / 255
    else:
      x = rng.normal(size=(count, 6)).astype(np.float32)
      inputs = x
    y = rng.integers(0, 5, count)
    tf.keras.utils.set_random_seed(3)
    trained = small_model(x.shape[1:])
    weights = keras_model_weights(trained)
    trained.compile(loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                    metrics=["sparse_categorical_accuracy"])
    loss, accuracy = trained.evaluate(inputs.astype(np.float32), y, batch_size=64, verbose=0)
    target = small_model(x.shape[1:])
    ours = evaluate_weights(target, weights, x, y, modality)
    self.assertAllClose(ours["loss"], loss, rtol=1e-5, atol=0)
    self.assertEqual(round(ours["accuracy"] * count), round(accuracy * count))
    self.assertBetween(accuracy, 0.05, 0.95)
    for assigned, original in zip(target.get_weights(), trained.get_weights()):
      self.assertAllEqual(assigned, original)


if __name__ == "__main__":
  tf.test.main()


class PaddedBatchesTest(tf.test.TestCase):

  def test_partial_batches_pad_to_powers_of_two_up_to_the_batch(self):
    self.assertEqual([padded_size(n, 1000) for n in (1, 2, 3, 9, 600, 1000)],
                     [1, 2, 4, 16, 1000, 1000])

  def test_example_losses_and_client_means_match_keras(self):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(37, 6)).astype(np.float32)
    y = rng.integers(0, 5, 37)
    model = small_model((6,))
    expected = tf.keras.losses.sparse_categorical_crossentropy(y, model(x), from_logits=True)
    losses = example_losses(model, x, y, Modality.FEATURES, batch_size=16)
    self.assertAllClose(losses, expected, rtol=1e-5)
    owners = [np.arange(0, 5), np.arange(5, 37), np.array([3])]
    self.assertAllClose(mean_losses(model, x, y, owners, Modality.FEATURES),
                        [float(np.mean(expected.numpy()[o])) for o in owners], rtol=1e-5)
