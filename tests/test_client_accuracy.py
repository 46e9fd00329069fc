"""Per-client accuracy: grouped by client in NumPy, the unweighted mean and percentiles,
and a Keras model's predictions on a split with client ids."""

import numpy as np
import tensorflow as tf

from tff_course.data.dataset import Modality, Split
from tff_course.errors import DataError
from tff_course.experiment.client_accuracy import client_accuracy, evaluate_clients


class ClientAccuracyTest(tf.test.TestCase):

  def test_accuracy_per_client_and_its_unweighted_mean(self):
    predicted = np.array([1, 0, 2, 2, 1, 1])
    labels = np.array([1, 1, 2, 0, 1, 1])
    ids = np.array(["b", "b", "a", "a", "c", "c"], dtype=object)
    result = client_accuracy(predicted, labels, ids)
    self.assertEqual(list(result.clients), ["a", "b", "c"])
    self.assertAllClose(result.accuracies, [0.5, 0.5, 1.0])
    self.assertAllClose(result.examples, [2, 2, 2])
    self.assertAllClose(result.mean(), 2 / 3)
    self.assertAllClose(result.percentile(10), 0.5)
    skewed = client_accuracy(np.array([0, 0, 0, 1]), np.array([0, 0, 0, 0]),
                             np.array([1, 1, 1, 2]))
    self.assertAllClose(skewed.mean(), 0.5)

  def test_bad_input_is_one_line(self):
    with self.assertRaisesRegex(DataError, "^per-client accuracy: the split has no client ids"):
      client_accuracy(np.zeros(2), np.zeros(2), None)
    with self.assertRaisesRegex(DataError, "got 2 predictions, 3 labels and 2 client ids"):
      client_accuracy(np.zeros(2), np.zeros(3), np.zeros(2))

  def test_a_models_accuracy_on_each_clients_examples(self):
    model = tf.keras.Sequential([tf.keras.layers.InputLayer(input_shape=(2,)),
                                 tf.keras.layers.Dense(2, use_bias=False)])
    model.set_weights([np.array([[1.0, 0.0], [0.0, 1.0]], np.float32)])
    x = np.array([[2.0, 1.0], [0.0, 3.0], [5.0, 1.0], [1.0, 4.0]], np.float32)
    split = Split(x=x, y=np.array([0, 0, 0, 1]), client_ids=np.array([7, 7, 9, 9]))
    result = evaluate_clients(model, split, Modality.FEATURES)
    self.assertAllClose(result.accuracies, [0.5, 1.0])


if __name__ == "__main__":
  tf.test.main()
