"""The Shakespeare next-character model of McMahan et al. (2017): an 8-dimensional
character embedding, two LSTM layers of 256 units and a softmax over the vocabulary.

With a vocabulary of V characters the Keras model has 265 V + 796,672 parameters
(818,137 for the toolkit's 81 symbols: LEAF's 80 characters and out-of-vocabulary).
The paper reports 866,578, which no integer V gives with Keras' LSTM cell; peephole
cells add 3 x 256 parameters per layer, and then V = 258 (the 256 byte values and two
special symbols) gives exactly 866,578. `shakespeare_lstm_paper` is that model; its
output covers 258 symbols however many the data uses, the extra ones never being
a label.
"""

from __future__ import annotations

from typing import Sequence


PAPER_VOCABULARY = 258


def shakespeare_lstm(input_shape: Sequence[int] = (80,), num_classes: int = 81, *,
                     embedding_dim: int = 8, units: int = 256, peepholes: bool = False,
                     name: str = "shakespeare_lstm"):
  """Embedding -> LSTM -> LSTM -> Dense over `num_classes` characters; outputs logits
  for the character after the input window."""
  import tensorflow as tf

  layers = tf.keras.layers

  def lstm(return_sequences):
    if peepholes:
      from tff_course.models.peephole import PeepholeLSTMCell

      return layers.RNN(PeepholeLSTMCell(units), return_sequences=return_sequences)
    return layers.LSTM(units, return_sequences=return_sequences)

  return tf.keras.Sequential([
      layers.InputLayer(input_shape=tuple(input_shape), dtype="int32"),
      layers.Embedding(num_classes, embedding_dim),
      lstm(return_sequences=True),
      lstm(return_sequences=False),
      layers.Dense(num_classes),
  ], name=name)


def shakespeare_lstm_lm(input_shape: Sequence[int] = (80,), num_classes: int = 81):
  """`shakespeare_lstm` (the same 818,137 parameters for 81 characters) trained as a
  language model: its output is still the logits for the character after the window,
  and in training it also learns to predict every character of the window from the
  ones before it (see tff_course.models.every_character)."""
  import tensorflow as tf

  from tff_course.models.every_character import EveryCharacterLoss

  layers = tf.keras.layers
  codes = layers.Input(shape=tuple(input_shape), dtype="int32")
  hidden = layers.Embedding(num_classes, 8)(codes)
  hidden = layers.LSTM(256, return_sequences=True)(hidden)
  hidden = layers.LSTM(256, return_sequences=True)(hidden)
  logits = layers.Dense(num_classes)(hidden)
  return tf.keras.Model(codes, EveryCharacterLoss()([codes, logits]),
                        name="shakespeare_lstm_lm")


def shakespeare_lstm_paper(input_shape: Sequence[int] = (80,), num_classes: int = 81):
  """McMahan et al.'s model as counted in the paper: peephole LSTM cells and 258
  symbols (866,578 parameters)."""
  from tff_course.errors import ConfigError

  if num_classes > PAPER_VOCABULARY:
    raise ConfigError(f"shakespeare_lstm_paper: got {num_classes} classes, expected at "
                      f"most {PAPER_VOCABULARY}")
  return shakespeare_lstm(input_shape, PAPER_VOCABULARY, peepholes=True,
                          name="shakespeare_lstm_paper")
