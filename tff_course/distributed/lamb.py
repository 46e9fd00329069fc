"""LAMB: layer-wise adaptive moments (You et al., "Large Batch Optimization for Deep
Learning: Training BERT in 76 minutes", ICLR 2020, Algorithm 2).

For each layer with weights x, gradient g, step t (from 1), learning rate eta_t (a
schedule, see `WarmupDecay`), moments m and v, and weight decay lambda:

    m <- beta_1 m + (1 - beta_1) g          v <- beta_2 v + (1 - beta_2) g^2
    m_hat = m / (1 - beta_1^t)              v_hat = v / (1 - beta_2^t)
    r = m_hat / (sqrt(v_hat) + epsilon) + lambda x
    x <- x - eta_t * ||x|| / ||r|| * r      (ratio 1 where ||x|| or ||r|| is 0)

phi, the paper's scaling of ||x||, is the identity here (the paper's experiments use it).
Variables left out (by default biases and normalisation weights, see `layer_adaptation`)
take ratio 1 and no weight decay: Adam's step.

Example:
  >>> optimizer = LAMB(learning_rate=WarmupDecay(peak=0.01, total_steps=5000,
  ...                                            warmup_steps=250), weight_decay=0.01)
"""

from __future__ import annotations

import math

import tensorflow as tf

from tff_course.distributed.layer_adaptation import VECTORS, trust_ratio
from tff_course.distributed.layerwise_optimizer import LayerwiseOptimizer
from tff_course.ranges import check_range


@tf.keras.utils.register_keras_serializable(package="tff_course")
class LAMB(LayerwiseOptimizer):
  """Adam's moments with a per-layer trust ratio (You et al. 2020)."""

  SLOTS = ("m", "v")

  def __init__(self, learning_rate=0.001, beta_1: float = 0.9, beta_2: float = 0.999,
               epsilon: float = 1e-6, weight_decay: float = 0.01,
               exclude_from_adaptation=VECTORS, exclude_from_weight_decay=None,
               name: str = "LAMB", **kwargs):
    super().__init__(learning_rate, weight_decay, exclude_from_adaptation,
                     exclude_from_weight_decay, name=name, **kwargs)
    self.beta_1 = check_range("beta_1", beta_1, 0.0, 1.0, upper_open=True)
    self.beta_2 = check_range("beta_2", beta_2, 0.0, 1.0, upper_open=True)
    self.epsilon = check_range("epsilon", epsilon, 0.0, math.inf, upper_open=True,
                               lower_open=True)

  def layer_step(self, gradient, variable, slots, adapted, decay):
    dtype = variable.dtype
    step = tf.cast(self.iterations + 1, dtype)
    m, v = slots["m"], slots["v"]
    m.assign(self.beta_1 * m + (1.0 - self.beta_1) * gradient)
    v.assign(self.beta_2 * v + (1.0 - self.beta_2) * tf.square(gradient))
    m_hat = m / (1.0 - tf.pow(tf.cast(self.beta_1, dtype), step))
    v_hat = v / (1.0 - tf.pow(tf.cast(self.beta_2, dtype), step))
    update = m_hat / (tf.sqrt(v_hat) + self.epsilon) + decay * variable
    ratio = (trust_ratio(tf.norm(variable), tf.norm(update)) if adapted
             else tf.constant(1.0, dtype))
    variable.assign_sub(tf.cast(self.learning_rate, dtype) * ratio * update)

  def hyperparameters(self):
    return {"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}
