"""Server and client optimizers by name, as TFF optimizers.

Adaptive server optimizers follow Reddi et al., "Adaptive Federated Optimization"
(ICLR 2021); SGD with server momentum is FedAvgM (Hsu et al., 2019).
"""

from __future__ import annotations

from typing import Optional

from tff_course.errors import ConfigError

SERVER_OPTIMIZERS = ("sgd", "sgdm", "adam", "yogi", "adagrad")


def build_optimizer(name: str, learning_rate: float, *, momentum: Optional[float] = None,
                    beta_1: float = 0.9, beta_2: float = 0.99, epsilon: float = 1e-3):
  """A `tff.learning.optimizers.Optimizer`.

  Args:
    name: sgd, sgdm (needs momentum), adam, yogi or adagrad.
    learning_rate: the step size, > 0.
    momentum: for sgdm (FedAvgM), in [0, 1).
    beta_1, beta_2, epsilon: for adam and yogi (epsilon also for adagrad); defaults
      are Reddi et al.'s (epsilon 1e-3, the adaptivity they found best).
  """
  from tff_course.runtime.tff_module import tff

  optimizers = tff.learning.optimizers
  if not learning_rate > 0:
    raise ConfigError(f"learning_rate: got {learning_rate}, expected a number > 0")
  if name == "sgd":
    return optimizers.build_sgdm(learning_rate=learning_rate)
  if name == "sgdm":
    if momentum is None or not 0 <= momentum < 1:
      raise ConfigError(f"momentum: got {momentum}, expected a value in [0, 1) for sgdm")
    return optimizers.build_sgdm(learning_rate=learning_rate, momentum=momentum)
  if name == "adam":
    return optimizers.build_adam(learning_rate=learning_rate, beta_1=beta_1,
                                 beta_2=beta_2, epsilon=epsilon)
  if name == "yogi":
    return optimizers.build_yogi(learning_rate=learning_rate, beta_1=beta_1,
                                 beta_2=beta_2, epsilon=epsilon)
  if name == "adagrad":
    return optimizers.build_adagrad(learning_rate=learning_rate, epsilon=epsilon)
  raise ConfigError(f"optimizer: got {name!r}, expected one of {', '.join(SERVER_OPTIMIZERS)}")
