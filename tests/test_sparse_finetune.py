"""Centralized sparse fine-tuning: batches, schedules, masks kept, resuming; task data."""

import numpy as np
import tensorflow as tf

from tests.shared_data import requires_data, shared_data_dir
from tff_course.errors import ConfigError
from tff_course.sparse.finetune import (FinetuneSettings, accuracy, batch_indices, finetune,
                                        learning_rate, sparse_optimizer)
from tff_course.sparse.mask_set import model_shapes
from tff_course.data.colour import as_colour_32
from tff_course.sparse.task_data import load_task


def blobs(seed=0, count=200):
  rng = np.random.default_rng(seed)
  centers = rng.normal(size=(3, 5)) * 3
  labels = rng.integers(0, 3, count)
  return (centers[labels] + rng.normal(size=(count, 5))).astype(np.float32), labels


def small_model(seed=0):
  tf.keras.utils.set_random_seed(seed)
  return tf.keras.Sequential([tf.keras.Input((5,)),
                              tf.keras.layers.Dense(16, activation="relu", name="body"),
                              tf.keras.layers.Dense(3, name="head")])


class FinetuneTest(tf.test.TestCase):

  def test_batches_are_seeded_shuffled_epochs(self):
    batches = batch_indices(10, 4, 5, seed=3)
    self.assertEqual([len(b) for b in batches], [4] * 5)
    self.assertCountEqual(np.concatenate(batches[:2]).tolist() + batches[2][:2].tolist(),
                          list(range(10)))
    np.testing.assert_array_equal(np.concatenate(batches),
                                  np.concatenate(batch_indices(10, 4, 5, seed=3)))

  def test_schedules(self):
    cosine = learning_rate(FinetuneSettings(steps=100, learning_rate=0.1, schedule="cosine"))
    self.assertAlmostEqual(float(cosine(0)), 0.1, places=6)
    self.assertAlmostEqual(float(cosine(50)), 0.05, places=6)
    step = learning_rate(FinetuneSettings(steps=100, learning_rate=0.1, schedule="step"))
    self.assertAlmostEqual(float(step(49)), 0.1, places=7)
    self.assertAlmostEqual(float(step(50)), 0.01, places=7)
    self.assertAlmostEqual(float(step(75)), 0.001, places=7)
    self.assertEqual(learning_rate(FinetuneSettings(schedule="constant", learning_rate=0.2)),
                     0.2)
    with self.assertRaisesRegex(ConfigError, "schedule: got 'linear', expected one of "
                                             "constant, cosine, step"):
      FinetuneSettings(schedule="linear")
    with self.assertRaisesRegex(ConfigError, "steps: got 0, expected a positive integer"):
      FinetuneSettings(steps=0)

  def test_sparse_fine_tuning_learns_and_keeps_masked_entries(self):
    images, labels = blobs()
    model = small_model()
    rng = np.random.default_rng(1)
    masks = {key: (rng.random(shape) < 0.3).astype(np.float32)
             for key, shape in model_shapes(model).items()}
    masks["head/kernel"][:] = 1
    before = {v.name: v.numpy() for v in model.trainable_variables}
    start = accuracy(model, images, labels)
    losses = finetune(model, masks, images, labels,
                      FinetuneSettings(steps=60, batch_size=32, learning_rate=0.05))
    self.assertLen(losses, 60)
    self.assertLess(np.mean(losses[-10:]), np.mean(losses[:10]))
    self.assertGreater(accuracy(model, images, labels), max(start, 0.8))
    for variable in model.trainable_variables:
      frozen = masks[variable.name.split(":")[0]] == 0
      np.testing.assert_array_equal(variable.numpy()[frozen], before[variable.name][frozen])

  def test_a_resumed_run_takes_the_same_steps_as_an_unbroken_one(self):
    images, labels = blobs()
    settings = FinetuneSettings(steps=20, batch_size=16, learning_rate=0.05)
    masks = {key: np.ones(shape, np.float32) for key, shape in model_shapes(small_model()).items()}
    unbroken = small_model()
    finetune(unbroken, masks, images, labels, settings)
    resumed = small_model()
    optimizer = sparse_optimizer(resumed, masks, settings)
    finetune(resumed, masks, images, labels, FinetuneSettings(
        steps=8, batch_size=16, learning_rate=0.05), optimizer=optimizer)
    self.assertEqual(int(optimizer.iterations), 8)
    finetune(resumed, masks, images, labels, settings, optimizer=optimizer, first_step=8)
    for a, b in zip(unbroken.trainable_variables, resumed.trainable_variables):
      np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6)


class TaskDataTest(tf.test.TestCase):

  def test_grey_digits_become_padded_colour_images(self):
    grey = np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28, 1)
    colour = as_colour_32(grey)
    self.assertEqual(colour.shape, (2, 32, 32, 3))
    np.testing.assert_array_equal(colour[:, 2:30, 2:30, 1], grey[..., 0])
    self.assertEqual(int(colour[:, :2].max()), 0)
    with self.assertRaisesRegex(ConfigError, r"images: got shape \(5, 5\)"):
      as_colour_32(np.zeros((1, 5, 5)))

  @requires_data("fashion-mnist")
  def test_a_task_sets_validation_aside_from_the_training_images(self):
    task = load_task("fashion_mnist", data_dir=shared_data_dir(), train_limit=300,
                     validation=100, test_limit=50)
    self.assertEqual((len(task.train), len(task.validation), len(task.test)), (300, 100, 50))
    self.assertEqual(task.train.x.shape[1:], (32, 32, 3))
    self.assertEqual(task.num_classes, 10)
    with self.assertRaisesRegex(ConfigError, "task: got 'svhn', expected one of cifar10, "):
      load_task("svhn")
