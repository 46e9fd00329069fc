import numpy as np
import tensorflow as tf
from absl.testing import parameterized

from pruning.reference import Arrays
from pruning.score import Score, competition_score, count_zeros, score_model


class CompetitionScoreTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.parameters(
      (0.7, 0.9, 0.8),
      (0.61, 0.5, 0.555),
      (0.6, 0.99, 0.0),  # accuracy must be strictly above 0.6
      (0.95, 0.0, 0.0),  # an unpruned model scores nothing
      (0.3, 0.98, 0.0),
  )
  def test_known_values(self, accuracy, sparsity, expected):
    self.assertAlmostEqual(competition_score(accuracy, sparsity), expected, places=12)

  def test_count_zeros_counts_biases_like_numpy(self):
    rng = np.random.default_rng(0)
    weights = [rng.normal(size=(5, 4)), rng.normal(size=4), rng.normal(size=(3, 3, 2, 2))]
    for w in weights:
      w[rng.random(w.shape) < 0.4] = 0.0
    flat = np.concatenate([w.ravel() for w in weights])
    self.assertEqual(count_zeros(weights), (int(np.sum(flat == 0)), flat.size))

  def test_negative_zero_counts_as_zero(self):
    self.assertEqual(count_zeros([np.array([-0.0, 0.0, 1e-30])]), (2, 3))


class ScoreModelTest(tf.test.TestCase):

  def test_known_model(self):
    model = tf.keras.Sequential([tf.keras.layers.InputLayer(input_shape=(2,)),
                                 tf.keras.layers.Dense(2)])
    model.set_weights([np.array([[1.0, 0.0], [0.0, 1.0]], np.float32),
                       np.zeros(2, np.float32)])
    x = np.array([[1, 0], [0, 1], [2, 1], [1, 2], [3, 0]], np.float32)
    y = np.array([0, 1, 0, 1, 1])
    score = score_model(model, Arrays(x, y))
    self.assertEqual(score, Score(accuracy=0.8, zeros=4, parameters=6, examples=5))
    self.assertAlmostEqual(score.sparsity, 4 / 6)
    self.assertAlmostEqual(score.score, (0.8 + 4 / 6) / 2)
    self.assertIn("4 of 5 test images", score.describe())
    self.assertIn("4 of 6 parameters are zero", score.describe())


if __name__ == "__main__":
  tf.test.main()
