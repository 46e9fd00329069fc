"""tf.data pipelines that turn stored examples into model inputs.

Inputs are converted in NumPy before they enter tf.data: any `Dataset.map` registers a
new function with TensorFlow's eager context that is never freed (about 75 KB per
pipeline, measured), and the runner builds a pipeline per client per round.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from tff_course.data.dataset import Modality


def model_inputs(x: np.ndarray, modality: Modality) -> np.ndarray:
  """Stored examples -> model inputs: pixels to float32 in [0, 1], features to float32,
  character codes to int32."""
  if modality is Modality.IMAGE:
    return np.asarray(x, dtype=np.float32) / np.float32(255.0)
  if modality is Modality.FEATURES:
    return np.asarray(x, dtype=np.float32)
  return np.asarray(x, dtype=np.int32)


def model_inputs_tf(x, modality: Modality):
  """`model_inputs` in TensorFlow, with the same results."""
  import tensorflow as tf

  if modality is Modality.IMAGE:
    return tf.cast(x, tf.float32) / 255.0
  if modality is Modality.FEATURES:
    return tf.cast(x, tf.float32)
  return tf.cast(x, tf.int32)


def make_tf_dataset(x: np.ndarray, y: np.ndarray, modality: Modality, *,
                    batch_size: Optional[int] = 32, shuffle_seed: Optional[int] = None):
  """A batched tf.data pipeline of (inputs, int32 labels).

  Args:
    x: stored examples.
    y: integer labels.
    modality: how to turn x into model inputs.
    batch_size: examples per batch; None gives one batch of everything (full batch).
    shuffle_seed: reshuffle every pass with this seed; None keeps the order.
  """
  import tensorflow as tf

  dataset = tf.data.Dataset.from_tensor_slices((model_inputs(x, modality),
                                                np.asarray(y, dtype=np.int32)))
  if shuffle_seed is not None and len(y) > 1:
    dataset = dataset.shuffle(len(y), seed=shuffle_seed, reshuffle_each_iteration=True)
  return dataset.batch(batch_size or max(len(y), 1))
