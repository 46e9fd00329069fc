"""Linear warm-up, then polynomial or cosine decay: the learning rate large-batch training
uses (Goyal et al., "Accurate, Large Minibatch SGD", 2017, for the warm-up; You et al.,
"Large Batch Training of Convolutional Networks", 2017, for the polynomial decay of power
2 that LARS uses; Loshchilov and Hutter, "SGDR", ICLR 2017, for the cosine).

    step < warmup:   peak * (step + 1) / warmup
    after:           end + (peak - end) * f(p),  p = (step - warmup) / (total - warmup),
                     f = (1 - p) ** power (polynomial) or (1 + cos(pi p)) / 2 (cosine),
                     p capped at 1 (the rate stays at `end` past `total`).

Example:
  >>> schedule = WarmupDecay(peak=0.8, total_steps=1000, warmup_steps=50)
  >>> optimizer = LARS(learning_rate=schedule)
"""

from __future__ import annotations

import math

import tensorflow as tf

from tff_course.errors import ConfigError
from tff_course.ranges import check_integer, check_range

DECAYS = ("polynomial", "cosine")


def warmup_decay(step, peak: float, total_steps: int, warmup_steps: int = 0,
                 decay: str = "polynomial", power: float = 2.0, end: float = 0.0):
  """The learning rate at optimizer step `step` (0-based), a float32 tensor."""
  step = tf.cast(step, tf.float32)
  warm = peak * (step + 1.0) / float(max(warmup_steps, 1))
  progress = tf.minimum((step - warmup_steps) / float(max(total_steps - warmup_steps, 1)),
                        1.0)
  if decay == "cosine":
    shape = 0.5 * (1.0 + tf.cos(math.pi * progress))
  else:
    shape = tf.pow(1.0 - progress, power)
  return tf.where(step < warmup_steps, warm, end + (peak - end) * shape)


def check_warmup_decay(peak, total_steps, warmup_steps, decay, power, end) -> None:
  """One line naming the first bad argument of `warmup_decay`."""
  check_range("peak", peak, 0.0, math.inf, upper_open=True, lower_open=True)
  check_integer("total_steps", total_steps, 1)
  check_integer("warmup_steps", warmup_steps, 0)
  if warmup_steps > total_steps:
    raise ConfigError(f"warmup_steps: got {warmup_steps}, expected at most total_steps "
                      f"({total_steps})")
  if decay not in DECAYS:
    raise ConfigError(f"decay: got {decay!r}, expected one of {', '.join(DECAYS)}")
  check_range("power", power, 0.0, math.inf, upper_open=True, lower_open=True)
  check_range("end", end, 0.0, peak, upper_open=False)


@tf.keras.utils.register_keras_serializable(package="tff_course")
class WarmupDecay(tf.keras.optimizers.schedules.LearningRateSchedule):
  """`warmup_decay` as a Keras schedule (saved and reloaded with the optimizer)."""

  def __init__(self, peak: float, total_steps: int, warmup_steps: int = 0,
               decay: str = "polynomial", power: float = 2.0, end: float = 0.0):
    super().__init__()
    check_warmup_decay(peak, total_steps, warmup_steps, decay, power, end)
    self.peak, self.total_steps, self.warmup_steps = float(peak), total_steps, warmup_steps
    self.decay, self.power, self.end = decay, float(power), float(end)

  def __call__(self, step):
    return warmup_decay(step, self.peak, self.total_steps, self.warmup_steps, self.decay,
                        self.power, self.end)

  def get_config(self):
    return {"peak": self.peak, "total_steps": self.total_steps,
            "warmup_steps": self.warmup_steps, "decay": self.decay, "power": self.power,
            "end": self.end}
