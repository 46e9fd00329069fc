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


def check_tff_optimizer(name: str, optimizer):
  """Returns `optimizer`, a `tff.learning.optimizers.Optimizer`.

  Raises:
    ConfigError: anything else, such as a Keras optimizer or a function making one (what
      TFF's own `build_weighted_fed_avg` takes), with what to pass instead.
  """
  from tff_course.runtime.tff_module import tff

  if isinstance(optimizer, tff.learning.optimizers.Optimizer):
    return optimizer
  raise ConfigError(f"{name}: got {_describe(optimizer)}, expected a TFF optimizer such as "
                    f"tff_course.algorithms.build_optimizer('sgd', 0.1) or "
                    f"tff.learning.optimizers.build_sgdm(learning_rate=0.1)")


def _describe(optimizer) -> str:
  import tensorflow as tf

  keras = (tf.keras.optimizers.Optimizer, tf.keras.optimizers.legacy.Optimizer)
  if isinstance(optimizer, keras):
    return f"a Keras optimizer ({type(optimizer).__name__})"
  if callable(optimizer):
    return f"a function ({getattr(optimizer, '__name__', type(optimizer).__name__)})"
  return repr(optimizer)
