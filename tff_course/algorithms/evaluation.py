"""Centralized evaluation of a federated model on a held-out split."""

from __future__ import annotations

import weakref
from typing import Dict, Sequence

import numpy as np

from tff_course.data.dataset import Modality


def evaluate_weights(keras_model, model_weights, x: np.ndarray, y: np.ndarray,
                     modality: Modality, *, batch_size: int = 1000) -> Dict[str, float]:
  """Loss and accuracy of `model_weights` (a tff ModelWeights) on (x, y).

  Args:
    keras_model: a Keras model of the architecture the weights belong to; its
      weights are overwritten.
    model_weights: `tff.learning.models.ModelWeights` from a learning process.
    x, y: stored examples and labels (converted as the training pipeline does).
    modality: how x becomes model inputs.
    batch_size: evaluation batch size (does not change the result).

  Returns:
    {"loss": mean cross-entropy, "accuracy": fraction correct}.
  """
  import tensorflow as tf

  model_weights.assign_weights_to(keras_model)
  loss_fn = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True,
                                                          reduction="sum")
  total_loss, correct = 0.0, 0
  for start, logits in _batched_logits(keras_model, x, modality, batch_size):
    labels = y[start:start + batch_size]
    total_loss += float(loss_fn(labels, logits))
    correct += int(np.sum(np.argmax(logits.numpy(), axis=1) == labels))
  count = max(len(y), 1)
  return {"loss": total_loss / count, "accuracy": correct / count}


def example_losses(keras_model, x: np.ndarray, y: np.ndarray, modality: Modality, *,
                   batch_size: int = 1000) -> np.ndarray:
  """Each row's cross-entropy under the model as it is (inference mode), float64."""
  losses = np.zeros(len(y))
  for start, logits in _batched_logits(keras_model, x, modality, batch_size):
    values = logits.numpy().astype(np.float64)
    values -= values.max(axis=1, keepdims=True)
    log_total = np.log(np.exp(values).sum(axis=1))
    labels = y[start:start + batch_size]
    losses[start:start + len(labels)] = log_total - values[np.arange(len(labels)), labels]
  return losses


def mean_losses(keras_model, x: np.ndarray, y: np.ndarray, owners: Sequence[np.ndarray],
                modality: Modality) -> np.ndarray:
  """For each array of row indices in `owners` (a client's examples), the mean
  cross-entropy of those rows of (x, y), all rows scored in one batched pass."""
  rows = np.concatenate(owners) if len(owners) else np.zeros(0, np.int64)
  losses = example_losses(keras_model, x[rows], y[rows], modality)
  ends = np.cumsum([len(indices) for indices in owners])
  return np.array([part.mean() if len(part) else np.nan
                   for part in np.split(losses, ends[:-1])])


def predicted_labels(keras_model, x: np.ndarray, modality: Modality, *,
                     batch_size: int = 1000) -> np.ndarray:
  """The model's most likely class for every row of x (inference mode)."""
  labels = [np.argmax(logits.numpy(), axis=1)
            for _, logits in _batched_logits(keras_model, x, modality, batch_size)]
  return np.concatenate(labels) if labels else np.zeros(0, np.int64)


def _batched_logits(keras_model, x: np.ndarray, modality: Modality, batch_size: int):
  """(start row, logits) of x in batches of `batch_size`, in inference mode."""
  from tff_course.data.pipeline import model_inputs

  logits_of = _inference_function(keras_model)
  for start in range(0, len(x), batch_size):
    rows = x[start:start + batch_size]
    padded = np.concatenate([rows, np.repeat(rows[-1:], padded_size(len(rows), batch_size)
                                             - len(rows), axis=0)])
    yield start, logits_of(model_inputs(padded, modality))[:len(rows)]


def padded_size(rows: int, batch_size: int) -> int:
  """The batch a partial batch of `rows` is padded to, so that inference traces a few
  shapes (powers of two up to `batch_size`) instead of one per client size."""
  return min(batch_size, 1 << max(rows - 1, 0).bit_length())


_INFERENCE: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _inference_function(keras_model):
  """`keras_model(x, training=False)` as a tf.function, traced once per model and batch
  shape (a third faster than calling the model eagerly on ResNet-20)."""
  import tensorflow as tf

  if keras_model not in _INFERENCE:
    model = weakref.ref(keras_model)
    _INFERENCE[keras_model] = tf.function(lambda inputs: model()(inputs, training=False),
                                          reduce_retracing=True)
  return _INFERENCE[keras_model]
