"""One-shot magnitude pruning, global and layer-wise, followed by masked fine-tuning.

Han et al., "Learning both Weights and Connections for Efficient Neural Networks"
(NeurIPS 2015): remove the weights of smallest magnitude, then retrain the rest.
Global pruning ranks every kernel entry of the network together, so layers lose
different fractions; layer-wise pruning removes the same fraction of every kernel.
"""

from __future__ import annotations

from typing import Optional

from pruning.masks import apply_masks, global_magnitude_masks, kernels, layerwise_magnitude_masks
from pruning.methods.base import PruneResult, PruneSettings, begin
from pruning.reference import TaskData
from pruning.training import clone, fit


def global_magnitude(model, data: TaskData, target_sparsity: float, *,
                     settings: Optional[PruneSettings] = None) -> PruneResult:
  """Prunes the smallest-magnitude kernel entries network-wide, then fine-tunes."""
  settings, target = begin(model, data, target_sparsity, settings)
  masks = global_magnitude_masks(kernels(model), target.zeros)
  return _prune_and_fine_tune(model, data, masks, "global_magnitude", target.sparsity,
                              settings)


def layerwise_magnitude(model, data: TaskData, target_sparsity: float, *,
                        settings: Optional[PruneSettings] = None) -> PruneResult:
  """Prunes the same fraction of each kernel by magnitude, then fine-tunes."""
  settings, target = begin(model, data, target_sparsity, settings)
  weights = kernels(model)
  fraction = target.zeros / sum(value.size for value in weights.values())
  masks = layerwise_magnitude_masks(weights, fraction)
  return _prune_and_fine_tune(model, data, masks, "layerwise_magnitude", target.sparsity,
                              settings)


def _prune_and_fine_tune(model, data: TaskData, masks, method: str, target: float,
                         settings: PruneSettings) -> PruneResult:
  pruned = clone(model)
  apply_masks(pruned, masks)
  history = fit(pruned, data.train, settings.fine_tune, validation=data.validation,
                masks=masks)
  return PruneResult(pruned, masks, method, target, history)
