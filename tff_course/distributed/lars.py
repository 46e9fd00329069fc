"""LARS: layer-wise adaptive rate scaling (You, Gitman and Ginsburg, "Large Batch Training
of Convolutional Networks", 2017, Algorithm 1).

For each layer l with weights w, gradient g, momentum buffer v, global learning rate
gamma_t (a schedule: the paper decays it polynomially, power 2, see `WarmupDecay`), trust
coefficient eta, weight decay beta and momentum m:

    lambda = eta * ||w|| / (||g|| + beta * ||w||)   (1 where ||w|| or the denominator is 0)
    v <- m * v + gamma_t * lambda * (g + beta * w)
    w <- w - v

Variables left out (by default biases and normalisation weights, see
`layer_adaptation`) take lambda = 1 and no weight decay: heavy-ball SGD.

Example:
  >>> optimizer = LARS(learning_rate=WarmupDecay(peak=2.0, total_steps=5000,
  ...                                            warmup_steps=250), momentum=0.9)
  >>> model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy")
"""

from __future__ import annotations

import math

import tensorflow as tf

from tff_course.distributed.layer_adaptation import VECTORS, trust_ratio
from tff_course.distributed.layerwise_optimizer import LayerwiseOptimizer
from tff_course.ranges import check_range


@tf.keras.utils.register_keras_serializable(package="tff_course")
class LARS(LayerwiseOptimizer):
  """SGD with momentum and a per-layer trust ratio (You et al. 2017)."""

  SLOTS = ("velocity",)

  def __init__(self, learning_rate=0.1, momentum: float = 0.9, weight_decay: float = 5e-4,
               eta: float = 0.001, exclude_from_adaptation=VECTORS,
               exclude_from_weight_decay=None, name: str = "LARS", **kwargs):
    super().__init__(learning_rate, weight_decay, exclude_from_adaptation,
                     exclude_from_weight_decay, name=name, **kwargs)
    self.momentum = check_range("momentum", momentum, 0.0, 1.0, upper_open=True)
    self.eta = check_range("eta", eta, 0.0, math.inf, upper_open=True, lower_open=True)

  def layer_step(self, gradient, variable, slots, adapted, decay):
    if adapted:
      weight_norm = tf.norm(variable)
      local = trust_ratio(self.eta * weight_norm, tf.norm(gradient) + decay * weight_norm)
    else:
      local = tf.constant(1.0, variable.dtype)
    velocity = slots["velocity"]
    velocity.assign(self.momentum * velocity + tf.cast(self.learning_rate, variable.dtype)
                    * local * (gradient + decay * variable))
    variable.assign_sub(velocity)

  def hyperparameters(self):
    return {"momentum": self.momentum, "eta": self.eta}
