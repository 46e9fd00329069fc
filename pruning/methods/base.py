"""What every pruning method shares: its settings, its result and its bookkeeping.

A method is a function `method(model, data, target_sparsity, *, settings=None)` that
leaves `model` untouched and returns a `PruneResult`: a pruned copy, the masks that
prune it, and the training history of its fine-tuning.
"""

from __future__ import annotations

import dataclasses
from typing import Dict, List, Optional, Tuple

import numpy as np

from pruning.masks import check_target_sparsity, prunable_layers, zeros_needed
from pruning.reference import TaskData
from pruning.training import FitSettings
from tff_course.errors import ConfigError


@dataclasses.dataclass(frozen=True)
class PruneSettings:
  """Budgets shared by the methods, so that they compare on equal terms.

  Attributes:
    fine_tune: training after one-shot pruning (and after the gradual ramp), masks
      enforced.
    gradual_epochs: epochs over which gradual pruning raises sparsity to its target.
    prune_every: steps between two pruning events of gradual pruning.
    snip_epochs: epochs SNIP trains its pruned network from initialisation.
    snip_examples: training examples in the batch that SNIP's saliency is measured on.
  """

  fine_tune: FitSettings = FitSettings(epochs=10, batch_size=128, learning_rate=5e-4)
  gradual_epochs: int = 20
  prune_every: int = 40
  snip_epochs: int = 30
  snip_examples: int = 512

  def __post_init__(self):
    for name in ("gradual_epochs", "prune_every", "snip_epochs", "snip_examples"):
      value = getattr(self, name)
      minimum = 0 if name.endswith("epochs") else 1
      if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ConfigError(f"{name}: got {value!r}, expected an integer >= {minimum}")


@dataclasses.dataclass(frozen=True)
class PruneResult:
  """A pruned model, its masks and what happened on the way."""

  model: object
  masks: Dict[str, np.ndarray]
  method: str
  target_sparsity: float
  history: List[dict] = dataclasses.field(default_factory=list)


@dataclasses.dataclass(frozen=True)
class PruneTarget:
  """How many zeros a target sparsity asks of a model."""

  sparsity: float
  zeros: int
  parameters: int


def prune_target(model, target_sparsity) -> PruneTarget:
  """Validates `target_sparsity` for `model` and counts the zeros it needs.

  Raises:
    ConfigError: the target is outside [0, 1), above what the kernels can give, or the
      model has no prunable layers.
  """
  target = check_target_sparsity(target_sparsity)
  prunable = sum(layer.kernel.shape.num_elements() for layer in prunable_layers(model))
  total = model.count_params()
  return PruneTarget(target, zeros_needed(target, total, prunable), total)


def begin(model, data: TaskData, target_sparsity,
          settings: Optional[PruneSettings]) -> Tuple[PruneSettings, PruneTarget]:
  """What every method does first: default settings, a checked target, a checked data set.

  Raises:
    ConfigError: a bad target (see `prune_target`) or an empty training set.
  """
  target = prune_target(model, target_sparsity)
  if len(data.train) == 0:
    raise ConfigError("data: the training set is empty")
  return (PruneSettings() if settings is None else settings), target
