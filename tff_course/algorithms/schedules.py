"""Learning-rate schedules as functions of a step (a round, or an optimizer step).

Cosine annealing after a linear warmup: Loshchilov and Hutter, "SGDR" (ICLR 2017);
Goyal et al., "Accurate, Large Minibatch SGD" (2017). The functions take and return
TensorFlow values so the same code runs in Keras schedules and in TFF computations.
"""

from __future__ import annotations

import math

import tensorflow as tf

from tff_course.errors import ConfigError


def cosine_with_warmup(step, peak: float, total_steps: int, warmup_steps: int):
  """peak * (step + 1) / warmup during warmup, then cosine from peak to 0 at total_steps."""
  step = tf.cast(step, tf.float32)
  warm = peak * (step + 1.0) / float(max(warmup_steps, 1))
  progress = (step - warmup_steps) / float(max(total_steps - warmup_steps, 1))
  cosine = 0.5 * peak * (1.0 + tf.cos(math.pi * tf.minimum(progress, 1.0)))
  return tf.where(step < warmup_steps, warm, cosine)


def round_schedule(name: str, peak: float, rounds: int, warmup_rounds: int = 0):
  """round index (0-based) -> learning rate, for "constant" or "cosine"."""
  if name == "constant":
    return lambda round_index: tf.constant(peak, tf.float32)
  if name == "cosine":
    return lambda round_index: cosine_with_warmup(round_index, peak, rounds, warmup_rounds)
  raise ConfigError(f"lr_schedule: got {name!r}, expected 'constant' or 'cosine'")


def keras_cosine_schedule(peak: float, total_steps: int, warmup_steps: int):
  """`cosine_with_warmup` as a Keras learning-rate schedule over optimizer steps."""

  class CosineWithWarmup(tf.keras.optimizers.schedules.LearningRateSchedule):

    def __call__(self, step):
      return cosine_with_warmup(step, peak, total_steps, warmup_steps)

    def get_config(self):
      return {"peak": peak, "total_steps": total_steps, "warmup_steps": warmup_steps}

  return CosineWithWarmup()
