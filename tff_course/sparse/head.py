"""Step 0 of sparse fine-tuning: a classifier head for a new task on frozen features.

The head is the model's last Dense layer. It is fitted on the backbone's features either
in closed form, by ridge regression on one-hot targets (the bias not penalized), or by
training a softmax classifier on the features; fine-tuning then keeps it frozen (its mask
is all zeros).
"""

from __future__ import annotations

import math
from typing import Tuple

import numpy as np

from tff_course.errors import ConfigError

HEAD_METHODS = ("ridge", "train")


def head_layer(model):
  """The model's last layer, which must be Dense (the classifier head)."""
  import tensorflow as tf

  layer = model.layers[-1]
  if not isinstance(layer, tf.keras.layers.Dense):
    raise ConfigError(f"model {model.name!r}: its last layer {layer.name!r} is a "
                      f"{type(layer).__name__}, expected a Dense classifier head")
  return layer


def with_new_head(model, num_classes: int, *, seed: int = 0):
  """A model of `model`'s backbone (shared layers) and a new Dense head of `num_classes`:
  in place of its Dense head, under the same name, or on its output ("head") when it
  ends in features (DINO's ViT)."""
  import tensorflow as tf

  last = model.layers[-1]
  if isinstance(last, tf.keras.layers.Dense):
    backbone_output, name = last.input, last.name
  else:
    backbone_output, name = model.output, "head"
  initializer = tf.keras.initializers.GlorotUniform(seed=seed)
  outputs = tf.keras.layers.Dense(num_classes, kernel_initializer=initializer,
                                  name=name)(backbone_output)
  return tf.keras.Model(model.input, outputs, name=model.name)


def features(model, images: np.ndarray, *, batch_size: int = 256) -> np.ndarray:
  """The inputs of `model`'s head for `images`, in inference mode."""
  import tensorflow as tf

  from tff_course.runtime.keras_classes import usable_eagerly

  backbone = usable_eagerly(tf.keras.Model(usable_eagerly(model).input, head_layer(model).input))
  return backbone.predict(images, batch_size=batch_size, verbose=0).astype(np.float64)


def ridge_head(feature_rows: np.ndarray, labels: np.ndarray, num_classes: int,
               l2: float) -> Tuple[np.ndarray, np.ndarray]:
  """(kernel, bias) minimizing ||onehot(labels) - F kernel - bias||^2 + l2 ||kernel||^2."""
  if not (isinstance(l2, (int, float)) and math.isfinite(l2) and l2 >= 0):
    raise ConfigError(f"l2: got {l2!r}, expected a finite number >= 0")
  targets = np.eye(num_classes)[np.asarray(labels, np.int64)]
  feature_mean, target_mean = feature_rows.mean(axis=0), targets.mean(axis=0)
  centered = feature_rows - feature_mean
  gram = centered.T @ centered + l2 * np.eye(centered.shape[1])
  kernel = np.linalg.solve(gram, centered.T @ (targets - target_mean))
  return kernel, target_mean - feature_mean @ kernel


def fit_head(model, images: np.ndarray, labels: np.ndarray, *, method: str = "ridge",
             l2: float = 1e-3, epochs: int = 20, learning_rate: float = 1e-2,
             batch_size: int = 256, seed: int = 0) -> None:
  """Sets `model`'s head from the backbone's features of (`images`, `labels`).

  Args:
    method: "ridge" (closed form; `l2` is its penalty per example) or "train" (a
      softmax classifier trained with Adam on the features for `epochs`).
  """
  import tensorflow as tf

  if method not in HEAD_METHODS:
    raise ConfigError(f"head method: got {method!r}, expected one of "
                      f"{', '.join(HEAD_METHODS)}")
  head = head_layer(model)
  rows = features(model, images, batch_size=batch_size)
  if method == "ridge":
    kernel, bias = ridge_head(rows, labels, head.units, l2 * len(rows))
  else:
    tf.keras.utils.set_random_seed(seed)
    classifier = tf.keras.Sequential([tf.keras.Input((rows.shape[1],)),
                                      tf.keras.layers.Dense(head.units)])
    classifier.compile(optimizer=tf.keras.optimizers.Adam(learning_rate),
                       loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    classifier.fit(rows.astype(np.float32), np.asarray(labels), epochs=epochs,
                   batch_size=batch_size, verbose=0)
    kernel, bias = (w.numpy() for w in classifier.layers[-1].weights)
  head.kernel.assign(kernel.astype(np.float32))
  head.bias.assign(bias.astype(np.float32))
