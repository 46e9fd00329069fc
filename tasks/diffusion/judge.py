"""An independent judge of the small text-to-image model's samples: a small CNN classifier
that the toolkit trains on the same 32x32 images (Fashion-MNIST or CIFAR-10), whose
predictions measure class accuracy and whose penultimate layer gives the features that
subject fidelity and diversity are measured in."""

from __future__ import annotations

import json
import os
from typing import Optional, Sequence, Tuple, Union

import numpy as np

from tasks.diffusion.captions import (class_word, diffusion_split,
                                      load_diffusion_dataset)
from tff_course.atomic import atomic_path, write_text
from tff_course.errors import ConfigError, DataError

WEIGHTS_FILE = "judge.h5"
CONFIG_FILE = "judge.json"
FEATURES_LAYER = "features"
FEATURE_WIDTH = 128
_BATCH = 512


class Judge:
  """A trained classifier of uint8 images (N, 32, 32, C) into a dataset's classes.

  Attributes:
    model: the Keras classifier, uint8 images to class probabilities.
    dataset: the registry name of the dataset it was trained on.
    label_names: the dataset's label names, in label order.
    test_accuracy: its accuracy on the dataset's test split when it was trained.
    seed: the seed it was trained with.
    epochs: the epochs it was trained for.
  """

  def __init__(self, model, *, dataset: str, label_names: Sequence[str],
               test_accuracy: float, seed: int, epochs: int):
    from tensorflow import keras

    self.model = model
    self.dataset = dataset
    self.label_names = tuple(label_names)
    self.test_accuracy = float(test_accuracy)
    self.seed = int(seed)
    self.epochs = int(epochs)
    self._features = keras.Model(model.input, model.get_layer(FEATURES_LAYER).output)

  @property
  def image_shape(self) -> Tuple[int, int, int]:
    """(height, width, channels) of the images it judges."""
    return tuple(self.model.input_shape[1:])

  def label_index(self, label: Union[int, str]) -> int:
    """The index of `label`: an index, a label name ("Ankle boot") or a class word
    ("ankle boot").

    Raises:
      ConfigError: a label it does not know.
    """
    if isinstance(label, (int, np.integer)) and 0 <= label < len(self.label_names):
      return int(label)
    words = [class_word(name) for name in self.label_names]
    if isinstance(label, str) and class_word(label) in words:
      return words.index(class_word(label))
    raise ConfigError(f"label: got {label!r}, expected an index below "
                      f"{len(self.label_names)} or one of {', '.join(words)}")

  def check_images(self, images) -> np.ndarray:
    """`images` as a uint8 array of the shape the judge takes.

    Raises:
      ConfigError: images of another shape or type, in one line.
    """
    images = np.asarray(images)
    if images.ndim != 4 or tuple(images.shape[1:]) != self.image_shape or \
        images.dtype != np.uint8:
      height, width, channels = self.image_shape
      raise ConfigError(f"images: got {images.dtype} of shape {images.shape}, expected "
                        f"uint8 (N, {height}, {width}, {channels}) {self.dataset} images")
    return images

  def probabilities(self, images) -> np.ndarray:
    """Class probabilities (N, classes), float32."""
    return _batched(self.model, self.check_images(images))

  def predict(self, images) -> np.ndarray:
    """The predicted class of each image, int64 (N,)."""
    return np.argmax(self.probabilities(images), axis=-1).astype(np.int64)

  def features(self, images) -> np.ndarray:
    """The penultimate layer's activations (N, FEATURE_WIDTH), float32."""
    return _batched(self._features, self.check_images(images))

  def accuracy(self, images, labels) -> float:
    """The fraction of `images` classified as their `labels`.

    Raises:
      ConfigError: bad images, or labels not one per image.
    """
    predicted = self.predict(images)
    labels = np.asarray(labels)
    if labels.shape != predicted.shape:
      raise ConfigError(f"labels: got shape {labels.shape}, expected {predicted.shape} "
                        f"(one per image)")
    return float(np.mean(predicted == labels)) if len(labels) else float("nan")

  def config(self) -> dict:
    """What `save` writes beside the weights."""
    return {"dataset": self.dataset, "label_names": list(self.label_names),
            "image_shape": list(self.image_shape), "test_accuracy": self.test_accuracy,
            "seed": self.seed, "epochs": self.epochs}

  def save(self, directory: str) -> None:
    """Writes judge.h5 (Keras weights) and judge.json into `directory`, each file whole
    or not at all; the json, written last, marks a complete judge."""
    os.makedirs(directory, exist_ok=True)
    with atomic_path(os.path.join(directory, WEIGHTS_FILE)) as temp:
      self.model.save_weights(temp)
    write_text(os.path.join(directory, CONFIG_FILE), json.dumps(self.config(), indent=2))

  @classmethod
  def load(cls, directory: str) -> "Judge":
    """The judge `save` wrote into `directory`.

    Raises:
      DataError: a file is missing or unreadable; the message says which.
    """
    config_path = os.path.join(directory, CONFIG_FILE)
    weights_path = os.path.join(directory, WEIGHTS_FILE)
    for path in (config_path, weights_path):
      if not os.path.isfile(path):
        raise DataError(f"{path}: missing; expected a judge directory written by "
                        f"train_judge(...).save(DIR)")
    try:
      with open(config_path, encoding="utf-8") as stream:
        config = json.load(stream)
      model = build_classifier(tuple(config["image_shape"]), len(config["label_names"]))
      model.load_weights(weights_path)
    except (ValueError, KeyError, OSError) as error:
      raise DataError(f"{directory}: not a readable judge ({type(error).__name__}: "
                      f"{str(error).splitlines()[0] if str(error) else ''})") from None
    return cls(model, dataset=config["dataset"], label_names=config["label_names"],
               test_accuracy=config["test_accuracy"], seed=config["seed"],
               epochs=config["epochs"])


def build_classifier(image_shape: Tuple[int, int, int], num_classes: int):
  """The judge's CNN: uint8 images scaled to [0, 1], three 3x3 convolutions (16, 32, 64
  channels, each with batch normalisation, ReLU and 2x2 max pooling), a 128-wide dense
  layer named "features" (the penultimate layer), dropout, and a softmax."""
  from tensorflow import keras

  layers = [keras.layers.Input(image_shape, name="images"),
            keras.layers.Rescaling(1.0 / 255.0)]
  for width in (16, 32, 64):
    layers += [keras.layers.Conv2D(width, 3, padding="same", use_bias=False),
               keras.layers.BatchNormalization(),
               keras.layers.ReLU(),
               keras.layers.MaxPooling2D(2)]
  layers += [keras.layers.Flatten(),
             keras.layers.Dense(FEATURE_WIDTH, activation="relu", name=FEATURES_LAYER),
             keras.layers.Dropout(0.3),
             keras.layers.Dense(num_classes, activation="softmax", name="classes")]
  return keras.Sequential(layers, name="judge")


def train_judge(dataset_name: str, data_dir: Optional[str] = None, *, seed: int = 0,
                epochs: int = 2, batch_size: int = 64, learning_rate: float = 2e-3,
                limit: Optional[int] = None, verbose: int = 0) -> Judge:
  """Trains a judge on `dataset_name`'s 32x32 training images (Adam, the learning rate
  decaying to zero along a cosine) and measures it on the test split.

  With the defaults, a Fashion-MNIST judge reaches about 90 % test accuracy in under 3
  minutes on 2 CPU cores (measured with other work on the cores: 90.3 % in 168 s at seed
  0, 90.1 % in 188 s at seed 1; about 180 CPU-seconds each).

  Args:
    dataset_name: "fashion_mnist" or "cifar10" (registry aliases accepted).
    data_dir: the directory of official dataset files (see `load_dataset`).
    seed: weights, shuffling and dropout all follow it: the same seed gives the same
      judge on the same machine.
    epochs: passes over the training images.
    batch_size: images per step.
    learning_rate: Adam's initial learning rate.
    limit: use at most this many images of each split.
    verbose: Keras' progress output (0 silent, 1 a bar per epoch).

  Raises:
    ConfigError: an unknown dataset, or a setting out of range.
    DataError: the dataset's files are missing or corrupt.
  """
  import tensorflow as tf

  _check_settings(epochs, batch_size, learning_rate)
  dataset = load_diffusion_dataset(dataset_name, data_dir, limit=limit)
  train_x, train_y = diffusion_split(dataset, "train")
  test_x, test_y = diffusion_split(dataset, "test")
  tf.keras.utils.set_random_seed(seed)
  model = build_classifier(train_x.shape[1:], dataset.num_classes)
  steps = epochs * -(-len(train_y) // batch_size)
  schedule = tf.keras.optimizers.schedules.CosineDecay(learning_rate, steps)
  model.compile(optimizer=tf.keras.optimizers.Adam(schedule),
                loss="sparse_categorical_crossentropy")
  batches = (tf.data.Dataset.from_tensor_slices((train_x, train_y))
             .shuffle(len(train_y), seed=seed, reshuffle_each_iteration=True)
             .batch(batch_size))
  model.fit(batches, epochs=epochs, verbose=verbose)
  judge = Judge(model, dataset=dataset.name, label_names=dataset.label_names,
                test_accuracy=float("nan"), seed=seed, epochs=epochs)
  judge.test_accuracy = judge.accuracy(test_x, test_y)
  return judge


def _check_settings(epochs: int, batch_size: int, learning_rate: float) -> None:
  for name, value in (("epochs", epochs), ("batch_size", batch_size)):
    if not isinstance(value, (int, np.integer)) or value < 1:
      raise ConfigError(f"{name}: got {value!r}, expected a positive whole number")
  if not np.isfinite(learning_rate) or learning_rate <= 0:
    raise ConfigError(f"learning_rate: got {learning_rate!r}, expected a positive number")


def _batched(model, images: np.ndarray) -> np.ndarray:
  outputs = [model(images[start:start + _BATCH], training=False).numpy()
             for start in range(0, len(images), _BATCH)]
  if not outputs:
    return np.zeros((0,) + tuple(model.output_shape[1:]), np.float32)
  return np.concatenate(outputs).astype(np.float32, copy=False)
