"""Federated algorithms as TFF learning processes, and the plain-function helpers.

FedAvg on your own Keras model and `tf.data` clients: `keras_model_fn`, `build_fedavg`
and `build_optimizer` (README, "FedAvg from the library"). The names below import
their modules (and TensorFlow) when first used; `average_weights` and `LocalWork` need
no TensorFlow."""

from tff_course.lazy import lazy_exports

_MODULES = {
    "FedSgdForm": "fedsgd", "LocalWork": "local_work", "SERVER_OPTIMIZERS": "optimizers",
    "average_weights": "averaging", "build_fedavg": "fedavg", "build_fedsgd": "fedsgd",
    "build_optimizer": "optimizers", "evaluate_weights": "evaluation",
    "keras_model_fn": "model_fn", "round_schedule": "schedules",
}

__all__ = sorted(_MODULES)
__getattr__ = lazy_exports(__name__, _MODULES)
