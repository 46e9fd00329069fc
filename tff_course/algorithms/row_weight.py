"""A client's aggregation weight carried in its int64 input row: the float64's bits as the
row's last entry (exact, and the row stays one int64 tensor)."""

from __future__ import annotations

import numpy as np


def weight_entry(weight: float) -> np.int64:
  """The int64 whose bits are `weight` as a float64 (append it to the client's row)."""
  return np.float64(weight).view(np.int64)


def row_weight(row):
  """In TensorFlow: the float32 weight `weight_entry` put at the end of `row`."""
  import tensorflow as tf

  return tf.cast(tf.bitcast(row[-1], tf.float64), tf.float32)
