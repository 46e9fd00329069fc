"""Measures of generated images for the diffusion experiments, each a small pure function:
class accuracy and feature distances through a `Judge`, SSIM and pixel distance between
paired images.

Feature distances are Euclidean distances between the judge's penultimate-layer features.
Subject fidelity (`mean_feature_distance`) averages the distance over every (sample,
reference) pair, as DreamBooth's DINO and CLIP-I scores average over every pair of
generated and real images (Ruiz et al. 2023, section 4.1): a distance to the references'
mean would reward a blurred average of the subject, which lies near the mean of its
features without resembling any one instance image.
"""

from __future__ import annotations

from typing import Union

import numpy as np

from tff_course.errors import ConfigError


def class_accuracy(judge, images, label: Union[int, str]) -> float:
  """The fraction of `images` the judge classifies as `label` (an index, a label name or
  a class word).

  Raises:
    ConfigError: no images, images the judge cannot take, or a label it does not know.
  """
  index = judge.label_index(label)
  predicted = judge.predict(_nonempty(images, "images"))
  return float(np.mean(predicted == index))


def pairwise_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
  """Euclidean distances (len(a), len(b)) between the rows of `a` and of `b`, in float64."""
  a = np.asarray(a, dtype=np.float64)
  b = np.asarray(b, dtype=np.float64)
  squared = (np.sum(a * a, axis=1)[:, None] + np.sum(b * b, axis=1)[None, :]
             - 2.0 * a @ b.T)
  return np.sqrt(np.maximum(squared, 0.0))


def sample_distances(judge, samples, references) -> np.ndarray:
  """Each sample's mean Euclidean distance to the references in the judge's feature
  space, float64 (len(samples),).

  Raises:
    ConfigError: no samples or no references, or images the judge cannot take.
  """
  sample_features = judge.features(_nonempty(samples, "samples"))
  reference_features = judge.features(_nonempty(references, "references"))
  return pairwise_distances(sample_features, reference_features).mean(axis=1)


def mean_feature_distance(judge, samples, references) -> float:
  """The mean Euclidean distance between the judge's features of a sample and of a
  reference, over every (sample, reference) pair (see the module docstring for why
  pairs).

  Raises:
    ConfigError: no samples or no references, or images the judge cannot take.
  """
  return float(np.mean(sample_distances(judge, samples, references)))


def diversity(judge, images) -> float:
  """The mean Euclidean distance between the judge's features of two different images,
  over every unordered pair.

  Raises:
    ConfigError: fewer than two images, or images the judge cannot take.
  """
  images = np.asarray(images)
  if len(images) < 2:
    raise ConfigError(f"images: got {len(images)}, expected at least 2 to measure "
                      f"diversity")
  distances = pairwise_distances(*[judge.features(images)] * 2)
  upper = np.triu_indices(len(images), k=1)
  return float(np.mean(distances[upper]))


def ssim(a, b) -> np.ndarray:
  """The structural similarity of each pair (a[i], b[i]) of uint8 images (N, H, W, C), as
  `tf.image.ssim` gives it with max_val 255 (an 11x11 Gaussian window of sigma 1.5, so H
  and W of at least 11), float64 (N,).

  Raises:
    ConfigError: images not uint8, of different shapes, or smaller than the window.
  """
  import tensorflow as tf

  a, b = _image_pairs(a, b)
  if min(a.shape[1:3]) < 11:
    raise ConfigError(f"images: got {a.shape[1]}x{a.shape[2]}, expected at least 11x11 "
                      f"(SSIM's window)")
  return tf.image.ssim(tf.constant(a), tf.constant(b), max_val=255).numpy().astype(
      np.float64)


def pixel_distance(a, b) -> np.ndarray:
  """The mean absolute difference of each pair (a[i], b[i]) of uint8 images (N, H, W, C),
  pixels scaled to [0, 1], float64 (N,).

  Raises:
    ConfigError: images not uint8 or of different shapes.
  """
  a, b = _image_pairs(a, b)
  difference = np.abs(a.astype(np.float64) - b.astype(np.float64)) / 255.0
  return difference.reshape(len(a), -1).mean(axis=1)


def _image_pairs(a, b):
  a, b = np.asarray(a), np.asarray(b)
  for name, images in (("a", a), ("b", b)):
    if images.ndim != 4 or images.dtype != np.uint8 or not len(images):
      raise ConfigError(f"{name}: got {images.dtype} of shape {images.shape}, expected "
                        f"uint8 images (N, H, W, C), N at least 1")
  if a.shape != b.shape:
    raise ConfigError(f"b: got shape {b.shape}, expected a's shape {a.shape} (one image "
                      f"per image of a)")
  return a, b


def _nonempty(images, name: str) -> np.ndarray:
  images = np.asarray(images)
  if not len(images):
    raise ConfigError(f"{name}: got none, expected at least one image")
  return images
