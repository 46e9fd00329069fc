"""The course experiments by name."""

from __future__ import annotations

from typing import Dict

from tff_course.course import (architectures, async_course, calibration_sweeps, fedavg_cifar,
                               fedsgd_fedavg, finetune_schedules, group_fairness, label_skew,
                               large_batch_course, local_sgd_course, numpy_fedavg,
                               participation, personalization, quantized, scaffold_course,
                               selection_course, shakespeare_course, single_device,
                               sparse_rules, sparse_sweeps, task_arithmetic)
from tff_course.course.experiment import CourseExperiment
from tff_course.errors import ConfigError

EXPERIMENTS: Dict[str, CourseExperiment] = {
    module.EXPERIMENT.name: module.EXPERIMENT for module in (
    single_device, fedavg_cifar, group_fairness, quantized, fedsgd_fedavg, numpy_fedavg,
    finetune_schedules, label_skew, sparse_rules, sparse_sweeps, calibration_sweeps,
    task_arithmetic, large_batch_course, local_sgd_course, async_course,
    shakespeare_course, scaffold_course, participation, selection_course, personalization,
    architectures)}


def course_experiment(name: str) -> CourseExperiment:
  """The named experiment; ConfigError listing the names when there is none."""
  if name not in EXPERIMENTS:
    raise ConfigError(f"experiment: got {name!r}, expected one of {', '.join(EXPERIMENTS)}")
  return EXPERIMENTS[name]
