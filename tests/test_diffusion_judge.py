"""The judge of the small diffusion model's samples: captions, 32x32 images, the classifier
and the image metrics (against NumPy references)."""

import json
import math
import os

import numpy as np
import tensorflow as tf

from tasks.diffusion import image_metrics
from tasks.diffusion.captions import (caption, captions, class_word, class_words,
                                      diffusion_images, to_diffusion_size)
from tasks.diffusion.judge import (CONFIG_FILE, FEATURE_WIDTH, Judge, build_classifier,
                                   train_judge)
from tests.shared_data import requires_data, shared_data_dir
from tff_course.data.mnist import FASHION_MNIST_LABELS
from tff_course.data.registry import load_dataset
from tff_course.errors import ConfigError, DataError


def untrained_judge(channels=1, seed=0):
  tf.keras.utils.set_random_seed(seed)
  return Judge(build_classifier((32, 32, channels), 10), dataset="fashion_mnist",
               label_names=FASHION_MNIST_LABELS, test_accuracy=math.nan, seed=seed, epochs=0)


def random_images(count, channels=1, seed=0):
  return np.random.default_rng(seed).integers(0, 256, (count, 32, 32, channels), np.uint8)


def numpy_ssim(a, b):
  """SSIM as Wang et al. (2004) define it, with tf.image.ssim's window: an 11x11 Gaussian
  of sigma 1.5, valid positions only, pixels in [0, 1]."""
  a, b = a.astype(np.float64) / 255.0, b.astype(np.float64) / 255.0
  coordinates = np.arange(11) - 5.0
  gauss = np.exp(-coordinates ** 2 / (2 * 1.5 ** 2))
  window = np.outer(gauss, gauss) / np.sum(np.outer(gauss, gauss))

  def blur(x):
    views = np.lib.stride_tricks.sliding_window_view(x, (11, 11), axis=(1, 2))
    return np.einsum("nhwcij,ij->nhwc", views, window)

  c1, c2 = 0.01 ** 2, 0.03 ** 2
  mean_a, mean_b = blur(a), blur(b)
  var_a = blur(a * a) - mean_a ** 2
  var_b = blur(b * b) - mean_b ** 2
  covariance = blur(a * b) - mean_a * mean_b
  ssim_map = ((2 * mean_a * mean_b + c1) * (2 * covariance + c2) /
              ((mean_a ** 2 + mean_b ** 2 + c1) * (var_a + var_b + c2)))
  return ssim_map.mean(axis=(1, 2, 3))


class CaptionTest(tf.test.TestCase):

  def test_fashion_mnist_names_become_clean_lower_case_class_words(self):
    words = [class_word(name) for name in FASHION_MNIST_LABELS]
    self.assertEqual(words, ["t-shirt", "trouser", "pullover", "dress", "coat", "sandal",
                             "shirt", "sneaker", "bag", "ankle boot"])
    self.assertEqual([class_word(word) for word in words], words)

  def test_captions_always_use_the_article_a(self):
    self.assertEqual(caption("T-shirt/top"), "a photo of a t-shirt")
    self.assertEqual(caption("Ankle boot"), "a photo of a ankle boot")
    self.assertEqual(caption("airplane"), "a photo of a airplane")
    self.assertEqual(captions(np.array([1, 0]), ("cat", "dog")),
                     ("a photo of a dog", "a photo of a cat"))
    with self.assertRaisesRegex(ConfigError, r"^label name: got ' ', expected"):
      class_word(" ")

  def test_padding_centres_the_image_on_a_background_border(self):
    images = np.random.default_rng(0).integers(1, 256, (3, 28, 28, 1), np.uint8)
    padded = to_diffusion_size(images)
    self.assertEqual(padded.shape, (3, 32, 32, 1))
    self.assertAllEqual(padded[:, 2:30, 2:30], images)
    border = np.ones((32, 32), bool)
    border[2:30, 2:30] = False
    self.assertAllEqual(padded[:, border], np.zeros_like(padded[:, border]))
    native = random_images(2, 3)
    self.assertIs(to_diffusion_size(native), native)
    with self.assertRaisesRegex(DataError, r"^images: got uint8 of shape \(2, 30, 30, 1\), "
                                           r"expected uint8 \(N, 28, 28, C\)"):
      to_diffusion_size(np.zeros((2, 30, 30, 1), np.uint8))

  def test_unknown_or_unsupported_datasets_and_splits_are_one_line(self):
    with self.assertRaisesRegex(ConfigError, r"^dataset: got 'imagenet', expected one of"):
      diffusion_images("imagenet", None, "train", 4)
    with self.assertRaisesRegex(ConfigError, r"^dataset: got 'mnist', expected one of "
                                             r"fashion_mnist, cifar10 \(the small model"):
      diffusion_images("mnist", None, "train", 4)
    with self.assertRaisesRegex(ConfigError, r"^split: got 'validation', expected one of "
                                             r"train, test$"):
      diffusion_images("fashion_mnist", None, "validation", 4)

  @requires_data("fashion-mnist")
  def test_real_fashion_mnist_is_padded_and_cifar10_kept(self):
    images, labels = diffusion_images("fashion-mnist", shared_data_dir(), "test", limit=8)
    raw = load_dataset("fashion_mnist", data_dir=shared_data_dir(), limit=8).test
    self.assertEqual((images.shape, images.dtype), ((8, 32, 32, 1), np.uint8))
    self.assertAllEqual(images[:, 2:30, 2:30], raw.x)
    self.assertEqual(int(images[:, :2].max()), 0)
    self.assertAllEqual(labels, raw.y)
    dataset = load_dataset("fashion_mnist", data_dir=shared_data_dir(), limit=1)
    self.assertEqual(class_words(dataset)[0], "t-shirt")

  @requires_data("cifar10")
  def test_real_cifar10_is_kept_as_it_is(self):
    images, labels = diffusion_images("cifar10", shared_data_dir(), "train", limit=8)
    raw = load_dataset("cifar10", data_dir=shared_data_dir(), limit=8).train
    self.assertEqual(images.shape, (8, 32, 32, 3))
    self.assertAllEqual(images, raw.x)
    self.assertAllEqual(labels, raw.y)


class ImageMetricsTest(tf.test.TestCase):

  def test_pixel_distance_of_known_pairs(self):
    black = np.zeros((2, 32, 32, 3), np.uint8)
    other = np.stack([black[0], np.full((32, 32, 3), 51, np.uint8)])
    self.assertAllClose(image_metrics.pixel_distance(black, black), [0.0, 0.0])
    self.assertAllClose(image_metrics.pixel_distance(black, other), [0.0, 0.2])
    self.assertAllClose(image_metrics.pixel_distance(black, black + 255), [1.0, 1.0])

  def test_ssim_is_one_for_identical_images_and_matches_numpy(self):
    for channels in (1, 3):
      a = random_images(3, channels, seed=1)
      noise = np.random.default_rng(2).integers(-40, 41, a.shape)
      b = np.clip(a.astype(int) + noise, 0, 255).astype(np.uint8)
      self.assertAllClose(image_metrics.ssim(a, a), np.ones(3), atol=1e-6)
      self.assertAllClose(image_metrics.ssim(a, b), numpy_ssim(a, b), atol=1e-5)
      self.assertAllLess(image_metrics.ssim(a, b), 0.99)

  def test_ssim_and_pixel_distance_refuse_unpaired_or_non_uint8_images(self):
    with self.assertRaisesRegex(ConfigError, r"^b: got shape \(2, 32, 32, 1\), expected "
                                             r"a's shape \(3, 32, 32, 1\)"):
      image_metrics.ssim(random_images(3), random_images(2))
    with self.assertRaisesRegex(ConfigError, r"^a: got float64 of shape"):
      image_metrics.pixel_distance(np.zeros((1, 32, 32, 1)), random_images(1))
    with self.assertRaisesRegex(ConfigError, r"^images: got 8x8, expected at least 11x11"):
      image_metrics.ssim(np.zeros((1, 8, 8, 1), np.uint8), np.zeros((1, 8, 8, 1), np.uint8))

  def test_feature_distances_match_numpy(self):
    judge = untrained_judge()
    samples, references = random_images(4, seed=3), random_images(3, seed=4)
    features_s, features_r = judge.features(samples), judge.features(references)
    self.assertEqual(features_s.shape, (4, FEATURE_WIDTH))
    expected = np.mean([np.linalg.norm(s - r) for s in features_s for r in features_r])
    self.assertAllClose(image_metrics.mean_feature_distance(judge, samples, references),
                        expected, rtol=1e-5)
    pairs = [np.linalg.norm(features_s[i] - features_s[j])
             for i in range(4) for j in range(i + 1, 4)]
    self.assertAllClose(image_metrics.diversity(judge, samples), np.mean(pairs), rtol=1e-5)
    self.assertAllClose(image_metrics.mean_feature_distance(judge, samples[:1], samples[:1]),
                        0.0, atol=1e-3)
    self.assertAllClose(image_metrics.diversity(judge, np.repeat(samples[:1], 3, axis=0)),
                        0.0, atol=1e-3)
    with self.assertRaisesRegex(ConfigError, r"^images: got 1, expected at least 2"):
      image_metrics.diversity(judge, samples[:1])
    with self.assertRaisesRegex(ConfigError, r"^references: got none"):
      image_metrics.mean_feature_distance(judge, samples, samples[:0])

  def test_class_accuracy_counts_predictions_of_the_label(self):
    judge = untrained_judge()
    images = random_images(16, seed=5)
    predicted = judge.predict(images)
    label = int(np.bincount(predicted).argmax())
    expected = float(np.mean(predicted == label))
    self.assertEqual(image_metrics.class_accuracy(judge, images, label), expected)
    name = FASHION_MNIST_LABELS[label]
    self.assertEqual(image_metrics.class_accuracy(judge, images, name), expected)
    self.assertEqual(image_metrics.class_accuracy(judge, images, class_word(name)), expected)
    with self.assertRaisesRegex(ConfigError, r"^label: got 'hat', expected an index below "
                                             r"10 or one of t-shirt, trouser"):
      image_metrics.class_accuracy(judge, images, "hat")

  def test_the_judge_refuses_images_of_another_shape_in_one_line(self):
    judge = untrained_judge()
    cases = ((np.zeros((2, 28, 28, 1), np.uint8), r"uint8 of shape \(2, 28, 28, 1\)"),
             (random_images(2, channels=3), r"uint8 of shape \(2, 32, 32, 3\)"),
             (random_images(2).astype(np.float32), r"float32 of shape \(2, 32, 32, 1\)"))
    for images, shown in cases:
      with self.assertRaisesRegex(ConfigError, r"^images: got " + shown + r", expected "
                                               r"uint8 \(N, 32, 32, 1\) fashion_mnist "
                                               r"images$"):
        judge.predict(images)
    with self.assertRaisesRegex(ConfigError, r"^labels: got shape \(3,\), expected \(2,\)"):
      judge.accuracy(random_images(2), [0, 1, 2])


class TrainJudgeTest(tf.test.TestCase):

  def test_settings_out_of_range_are_refused_before_loading(self):
    with self.assertRaisesRegex(ConfigError, r"^epochs: got 0, expected a positive"):
      train_judge("fashion_mnist", "/nonexistent", epochs=0)
    with self.assertRaisesRegex(ConfigError, r"^learning_rate: got -1.0, expected"):
      train_judge("fashion_mnist", "/nonexistent", learning_rate=-1.0)

  def test_loading_a_directory_without_a_judge_names_the_file(self):
    directory = self.create_tempdir().full_path
    with self.assertRaisesRegex(DataError, r"judge.json: missing; expected a judge "
                                           r"directory"):
      Judge.load(directory)

  @requires_data("fashion-mnist")
  def test_a_few_steps_beat_chance_save_load_round_trips_and_the_seed_decides(self):
    settings = dict(seed=3, epochs=1, batch_size=50, limit=600)
    judge = train_judge("fashion_mnist", shared_data_dir(), **settings)
    test_x, test_y = diffusion_images("fashion_mnist", shared_data_dir(), "test", 600)
    self.assertGreater(judge.test_accuracy, 0.25)
    self.assertEqual(judge.test_accuracy, judge.accuracy(test_x, test_y))

    directory = os.path.join(self.create_tempdir().full_path, "judge")
    judge.save(directory)
    self.assertEqual(sorted(os.listdir(directory)), ["judge.h5", "judge.json"])
    with open(os.path.join(directory, CONFIG_FILE), encoding="utf-8") as stream:
      config = json.load(stream)
    self.assertEqual((config["dataset"], config["seed"], config["label_names"][-1]),
                     ("fashion_mnist", 3, "Ankle boot"))
    loaded = Judge.load(directory)
    self.assertAllEqual(loaded.predict(test_x), judge.predict(test_x))
    self.assertAllEqual(loaded.features(test_x[:64]), judge.features(test_x[:64]))
    self.assertEqual(loaded.test_accuracy, judge.test_accuracy)

    again = train_judge("fashion_mnist", shared_data_dir(), **settings)
    for first, second in zip(judge.model.get_weights(), again.model.get_weights()):
      self.assertAllEqual(first, second)
    other = train_judge("fashion_mnist", shared_data_dir(), **dict(settings, seed=4))
    self.assertNotAllClose(judge.model.get_weights()[0], other.model.get_weights()[0])
