"""Learning-rate schedules as functions of a step (a round, or an optimizer step).

Cosine annealing after a linear warmup: Loshchilov and Hutter, "SGDR" (ICLR 2017);
Goyal et al., "Accurate, Large Minibatch SGD" (2017). Step decay: divided by 10 at 50 %
and at 75 % of training (He et al., "Deep Residual Learning", CVPR 2016, trains its
CIFAR ResNets so). The functions take and return TensorFlow values so the same code runs
in Keras schedules and in TFF computations.
"""

from __future__ import annotations

import tensorflow as tf

from tff_course.algorithms.schedule_names import SCHEDULES
from tff_course.algorithms.warmup_decay import warmup_decay
from tff_course.errors import ConfigError

STEP_MILESTONES = (0.5, 0.75)
STEP_FACTOR = 0.1


def cosine_with_warmup(step, peak: float, total_steps: int, warmup_steps: int):
  """peak * (step + 1) / warmup during warmup, then cosine from peak to 0 at total_steps."""
  return warmup_decay(step, peak, total_steps, warmup_steps, decay="cosine")


def step_decay(step, peak: float, total_steps: int):
  """peak, times STEP_FACTOR once `step` reaches each STEP_MILESTONES fraction of
  total_steps."""
  step = tf.cast(step, tf.float32)
  rate = tf.constant(peak, tf.float32)
  for fraction in STEP_MILESTONES:
    rate = tf.where(step >= float(int(fraction * total_steps)), rate * STEP_FACTOR, rate)
  return rate


def check_schedule(name: str) -> None:
  if name not in SCHEDULES:
    raise ConfigError(f"lr_schedule: got {name!r}, expected one of {', '.join(SCHEDULES)}")


def round_schedule(name: str, peak: float, rounds: int, warmup_rounds: int = 0):
  """round index (0-based) -> learning rate, for each of SCHEDULES."""
  check_schedule(name)
  if name == "constant":
    return lambda round_index: tf.constant(peak, tf.float32)
  if name == "step":
    return lambda round_index: step_decay(round_index, peak, rounds)
  return lambda round_index: cosine_with_warmup(round_index, peak, rounds, warmup_rounds)


def keras_schedule(name: str, peak: float, total_steps: int, warmup_steps: int = 0):
  """The Keras learning rate over optimizer steps: `peak` itself when constant, else a
  schedule."""
  check_schedule(name)
  if name == "constant":
    return peak
  if name == "step":
    return _KerasSchedule(lambda step: step_decay(step, peak, total_steps),
                          {"name": name, "peak": peak, "total_steps": total_steps})
  return keras_cosine_schedule(peak, total_steps, warmup_steps)


class _KerasSchedule(tf.keras.optimizers.schedules.LearningRateSchedule):

  def __init__(self, function, config):
    super().__init__()
    self._function, self._config = function, config

  def __call__(self, step):
    return self._function(step)

  def get_config(self):
    return dict(self._config)


def keras_cosine_schedule(peak: float, total_steps: int, warmup_steps: int):
  """`cosine_with_warmup` as a Keras learning-rate schedule over optimizer steps."""

  class CosineWithWarmup(tf.keras.optimizers.schedules.LearningRateSchedule):

    def __call__(self, step):
      return cosine_with_warmup(step, peak, total_steps, warmup_steps)

    def get_config(self):
      return {"peak": peak, "total_steps": total_steps, "warmup_steps": warmup_steps}

  return CosineWithWarmup()
