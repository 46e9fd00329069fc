"""Federated algorithms as TFF learning processes, and the plain-function helpers."""

from tff_course.algorithms.averaging import average_weights
from tff_course.algorithms.fedavg import build_fedavg
from tff_course.algorithms.fedsgd import FedSgdForm, build_fedsgd
from tff_course.algorithms.local_work import LocalWork
from tff_course.algorithms.optimizers import SERVER_OPTIMIZERS, build_optimizer
from tff_course.algorithms.schedules import round_schedule

__all__ = [
    "FedSgdForm", "LocalWork", "SERVER_OPTIMIZERS", "average_weights", "build_fedavg",
    "build_fedsgd", "build_optimizer", "round_schedule",
]
