"""Pruning methods, written from scratch; each takes a model, data and a target sparsity.

    result = METHODS["global_magnitude"](model, data, 0.9)
    result.model, result.masks
"""

from typing import Callable, Dict

from pruning.methods.base import PruneResult, PruneSettings, prune_target
from pruning.methods.filters import l1_filters
from pruning.methods.gradual import PolynomialSchedule, gradual_magnitude
from pruning.methods.magnitude import global_magnitude, layerwise_magnitude
from pruning.methods.snip import snip
from tff_course.errors import ConfigError

METHODS: Dict[str, Callable[..., PruneResult]] = {
    "global_magnitude": global_magnitude,
    "layerwise_magnitude": layerwise_magnitude,
    "gradual_magnitude": gradual_magnitude,
    "l1_filters": l1_filters,
    "snip": snip,
}


def get_method(name: str) -> Callable[..., PruneResult]:
  """The method called `name`; raises ConfigError naming the known ones."""
  if name not in METHODS:
    raise ConfigError(f"method: got {name!r}, expected one of {', '.join(METHODS)}")
  return METHODS[name]


__all__ = ["METHODS", "PolynomialSchedule", "PruneResult", "PruneSettings", "get_method",
           "global_magnitude", "gradual_magnitude", "l1_filters", "layerwise_magnitude",
           "prune_target", "snip"]
