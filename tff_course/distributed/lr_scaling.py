"""The learning rate for a batch size, scaled from one tuned at a base batch size: linear
(Goyal et al., "Accurate, Large Minibatch SGD", 2017) or square root (Krizhevsky, "One
weird trick", 2014; Hoffer et al., 2017, and You et al., 2020, for LAMB)."""

from __future__ import annotations

import math

from tff_course.errors import ConfigError
from tff_course.ranges import check_integer, check_range

SCALING_RULES = ("linear", "sqrt", "none")


def scaled_learning_rate(base_lr: float, batch_size: int, base_batch_size: int,
                         rule: str) -> float:
  """base_lr x (batch_size / base_batch_size) under "linear", x its square root under
  "sqrt", unchanged under "none".

  >>> scaled_learning_rate(0.1, 1024, 128, "linear")
  0.8
  """
  check_range("base_lr", base_lr, 0.0, math.inf, upper_open=True, lower_open=True)
  check_integer("batch_size", batch_size, 1)
  check_integer("base_batch_size", base_batch_size, 1)
  if rule not in SCALING_RULES:
    raise ConfigError(f"scaling rule: got {rule!r}, expected one of {', '.join(SCALING_RULES)}")
  ratio = batch_size / base_batch_size
  return base_lr * {"linear": ratio, "sqrt": math.sqrt(ratio), "none": 1.0}[rule]
