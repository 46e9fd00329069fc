"""One step of masked SGD with momentum, as PyTorch's `torch.optim.SGD` defines SGD.

With g the gradient, p the weight, b the momentum buffer, m the 0/1 mask:
    g <- m * (g + weight_decay * p)
    b <- g on the first step, else momentum * b + (1 - dampening) * g;  b <- m * b
    d <- g + momentum * b with Nesterov, else b (g when momentum is 0)
    p <- p - learning_rate * d  where m is 1; p unchanged (bit for bit) where m is 0.
Weight decay is PyTorch's coupled L2 term, not Keras' decoupled decay. Both the Keras
optimizer (`SparseSGDM`) and federated clients take their steps with `sparse_sgdm_step`.
"""

from __future__ import annotations

import dataclasses
import math

from tff_course.errors import ConfigError
from tff_course.ranges import check_range


@dataclasses.dataclass(frozen=True)
class SGDMSettings:
  """The hyperparameters of SGD with momentum, checked on creation."""

  momentum: float = 0.9
  dampening: float = 0.0
  nesterov: bool = False
  weight_decay: float = 0.0

  def __post_init__(self):
    check_range("momentum", self.momentum, 0.0, 1.0, upper_open=True)
    check_range("dampening", self.dampening, 0.0, 1.0, upper_open=False)
    check_range("weight_decay", self.weight_decay, 0.0, math.inf, upper_open=True)
    if self.nesterov and (self.momentum == 0 or self.dampening != 0):
      raise ConfigError(f"nesterov: needs momentum > 0 and dampening 0 (PyTorch's rule), "
                        f"got momentum {self.momentum} and dampening {self.dampening}")


def sparse_sgdm_step(weight, gradient, buffer, mask, learning_rate, first_step,
                     settings: SGDMSettings):
  """(new weight, new buffer) after one step; all tensors of one shape, `mask` 0/1.

  Args:
    weight, gradient, buffer, mask: the weight, its gradient, its momentum buffer and
      its mask (1: may be updated).
    learning_rate: a scalar tensor or number.
    first_step: a boolean scalar: the buffer starts as the gradient.
    settings: momentum, dampening, Nesterov and weight decay.
  """
  import tensorflow as tf

  updatable = mask > 0
  zeros = tf.zeros_like(weight)
  gradient = tf.where(updatable, gradient, zeros)
  if settings.weight_decay:
    gradient = gradient + tf.where(updatable, settings.weight_decay * weight, zeros)
  if settings.momentum:
    running = settings.momentum * buffer + (1.0 - settings.dampening) * gradient
    buffer = tf.where(updatable, tf.where(first_step, gradient, running), zeros)
    direction = gradient + settings.momentum * buffer if settings.nesterov else buffer
  else:
    direction = gradient
  learning_rate = tf.cast(learning_rate, weight.dtype)
  return tf.where(updatable, weight - learning_rate * direction, weight), buffer
