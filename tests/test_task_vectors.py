"""Task vectors, their merge with a validated alpha, and their interference, in NumPy."""

import numpy as np
import tensorflow as tf

from tff_course.errors import ConfigError
from tff_course.sparse.merging import TaskModels, merge_tasks
from tff_course.sparse.task_vectors import (ALPHA_GRID, choose_alpha, cosine_similarities,
                                            merge, model_weights, normalized_accuracy,
                                            set_model_weights, task_vector)


class TaskVectorTest(tf.test.TestCase):

  def setUp(self):
    super().setUp()
    rng = np.random.default_rng(0)
    self.pre = {"a": rng.normal(size=(3, 2)).astype(np.float32),
                "b": rng.normal(size=4).astype(np.float32)}
    self.tuned = {key: value + rng.normal(size=value.shape).astype(np.float32)
                  for key, value in self.pre.items()}

  def test_a_merge_with_alpha_one_of_one_vector_is_the_fine_tuned_model(self):
    vector = task_vector(self.tuned, self.pre)
    np.testing.assert_allclose(vector["a"], self.tuned["a"].astype(np.float64) - self.pre["a"],
                               rtol=1e-12)
    merged = merge(self.pre, [vector], 1.0)
    for key in self.pre:
      self.assertEqual(merged[key].dtype, np.float32)
      np.testing.assert_allclose(merged[key], self.tuned[key], rtol=1e-6)
    half = merge(self.pre, [vector, vector], 0.25)
    np.testing.assert_allclose(half["b"], self.pre["b"] + 0.5 * vector["b"], rtol=1e-6)
    np.testing.assert_array_equal(merge(self.pre, [vector], 0.0)["a"], self.pre["a"])

  def test_alpha_is_chosen_on_the_grid_by_the_validation_score(self):
    self.assertLen(ALPHA_GRID, 21)
    self.assertEqual((ALPHA_GRID[0], ALPHA_GRID[1], ALPHA_GRID[-1]), (0.0, 0.05, 1.0))
    best, scored = choose_alpha(lambda alpha: -(alpha - 0.3) ** 2)
    self.assertAlmostEqual(best, 0.3)
    self.assertLen(scored, 21)
    best, _ = choose_alpha(lambda alpha: 1.0)
    self.assertEqual(best, 0.0)

  def test_cosine_similarities_and_normalized_accuracy(self):
    one = {"a": np.array([1.0, 0.0]), "b": np.array([0.0])}
    same_direction = {"a": np.array([3.0, 0.0]), "b": np.array([0.0])}
    orthogonal = {"a": np.array([0.0, 2.0]), "b": np.array([0.0])}
    zero = {"a": np.zeros(2), "b": np.zeros(1)}
    matrix = cosine_similarities({"1": one, "2": same_direction, "3": orthogonal, "0": zero})
    np.testing.assert_allclose(matrix, [[1, 1, 0, 0], [1, 1, 0, 0], [0, 0, 1, 0],
                                        [0, 0, 0, 0]], atol=1e-12)
    self.assertAlmostEqual(normalized_accuracy({"x": 0.45, "y": 0.8}, {"x": 0.9, "y": 0.8}),
                           0.75)

  def test_weights_go_in_and_out_of_a_keras_model(self):
    model = tf.keras.Sequential([tf.keras.Input((2,)), tf.keras.layers.Dense(3, name="d")])
    weights = model_weights(model, ["d/kernel"])
    set_model_weights(model, {"d/kernel": weights["d/kernel"] + 1})
    np.testing.assert_allclose(model.layers[0].kernel.numpy(), weights["d/kernel"] + 1)
    with self.assertRaisesRegex(ConfigError, "weights: e/kernel not in model"):
      model_weights(model, ["e/kernel"])

  def test_bad_input_is_one_line(self):
    vector = task_vector(self.tuned, self.pre)
    for alpha in (float("nan"), float("inf"), "0.5", None):
      with self.assertRaisesRegex(ConfigError, r"^alpha: got .*, expected a finite number$"):
        merge(self.pre, [vector], alpha)
    with self.assertRaisesRegex(ConfigError, r"task vector 0: b \(5,\) \(expected \(4,\)\), "
                                             r"the pre-trained weight's$"):
      merge(self.pre, [dict(vector, b=np.zeros(5))], 0.5)
    with self.assertRaisesRegex(ConfigError, r"fine-tuned weights: keys differ .*missing b; "
                                             r"unexpected c"):
      task_vector({"a": self.tuned["a"], "c": self.tuned["b"]}, self.pre)
    with self.assertRaisesRegex(ConfigError, "task vectors: got none"):
      merge(self.pre, [], 0.5)


class MergeTasksTest(tf.test.TestCase):

  def test_alpha_is_the_best_on_validation_and_heads_stay_per_task(self):
    rng = np.random.default_rng(0)

    def accuracy_of(weights, x, y):
      return float(np.mean(np.argmax(x @ weights["w"] @ weights["h"], 1) == y))

    def examples(w, h, count):
      x = rng.normal(size=(count, 3))
      return x, np.argmax(x @ w @ h, 1)

    pre = {"w": rng.normal(size=(3, 3)), "h": np.eye(3)}
    tasks = []
    for name in ("a", "b"):
      tuned = {"w": pre["w"] + rng.normal(size=(3, 3)), "h": rng.normal(size=(3, 3))}
      tasks.append(TaskModels(name, {**pre, "h": tuned["h"]}, tuned,
                              examples(tuned["w"], tuned["h"], 200),
                              examples(tuned["w"], tuned["h"], 300)))
    result = merge_tasks(tasks, ["h"], accuracy_of, grid=(0.0, 0.25, 0.5, 0.75, 1.0))

    def normalized(alpha, split):
      merged_w = pre["w"] + alpha * sum(t.finetuned["w"] - pre["w"] for t in tasks)
      return np.mean([accuracy_of({"w": merged_w, "h": t.finetuned["h"]}, *getattr(t, split))
                      / accuracy_of(t.finetuned, *getattr(t, split)) for t in tasks])

    expected = max((0.0, 0.25, 0.5, 0.75, 1.0), key=lambda a: (normalized(a, "validation"), -a))
    self.assertEqual(result.alpha, expected)
    self.assertEqual([alpha for alpha, _ in result.curve], [0.0, 0.25, 0.5, 0.75, 1.0])
    self.assertAlmostEqual(result.normalized, normalized(expected, "test"), places=12)
    self.assertEqual(result.finetuned, {"a": 1.0, "b": 1.0})
    np.testing.assert_allclose(np.diag(result.cosine), [1.0, 1.0])
    self.assertAlmostEqual(result.cosine[0, 1], result.cosine[1, 0])
