"""The Shakespeare next-character model of McMahan et al. (2017): an 8-dimensional
character embedding, two LSTM layers of 256 units and a softmax over the vocabulary.

With a vocabulary of V characters the Keras model has 265 V + 796,672 parameters
(818,137 for the toolkit's 81 symbols: LEAF's 80 characters and out-of-vocabulary).
The paper reports 866,578, which no integer V gives for this architecture in Keras;
it equals V = 258 with peephole connections, so the paper's LSTM cell differed.
"""

from __future__ import annotations

from typing import Sequence


def shakespeare_lstm(input_shape: Sequence[int] = (80,), num_classes: int = 81, *,
                     embedding_dim: int = 8, units: int = 256):
  """Embedding -> LSTM -> LSTM -> Dense over `num_classes` characters; outputs logits
  for the character after the input window."""
  import tensorflow as tf

  layers = tf.keras.layers
  return tf.keras.Sequential([
      layers.InputLayer(input_shape=tuple(input_shape), dtype="int32"),
      layers.Embedding(num_classes, embedding_dim),
      layers.LSTM(units, return_sequences=True),
      layers.LSTM(units),
      layers.Dense(num_classes),
  ], name="shakespeare_lstm")
