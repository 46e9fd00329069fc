"""Gradual magnitude pruning: sparsity rises on a polynomial schedule while training.

Zhu and Gupta, "To prune, or not to prune: exploring the efficacy of pruning for model
compression" (2017): s_t = s_f + (s_i - s_f) (1 - (t - t_0) / (t_1 - t_0))^3, pruning
every `frequency` steps from t_0 to t_1. At each pruning step the smallest-magnitude
kernel entries network-wide are masked (already-pruned weights are zero, hence stay
pruned); the masks are enforced after every batch, and training continues with the
final masks for the fine-tuning epochs.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Optional, Tuple

from pruning.masks import (apply_masks, global_magnitude_masks, kernels, masking_function,
                           prunable_layers, weight_name)
from pruning.methods.base import PruneResult, PruneSettings, begin
from pruning.reference import TaskData
from pruning.training import clone, fit
from tff_course.errors import ConfigError


@dataclasses.dataclass(frozen=True)
class PolynomialSchedule:
  """Sparsity from `initial` at `begin_step` to `final` at `end_step`, power `power`."""

  initial: float
  final: float
  begin_step: int
  end_step: int
  frequency: int
  power: float = 3.0

  def __post_init__(self):
    for name in ("initial", "final"):
      value = getattr(self, name)
      if not 0 <= value < 1:
        raise ConfigError(f"{name} sparsity: got {value!r}, expected a number in [0, 1)")
    if self.final < self.initial:
      raise ConfigError(f"final sparsity: got {self.final}, expected >= initial "
                        f"{self.initial}")
    if not 0 <= self.begin_step < self.end_step:
      raise ConfigError(f"steps: got begin {self.begin_step} and end {self.end_step}, "
                        f"expected 0 <= begin < end")
    if self.frequency < 1:
      raise ConfigError(f"frequency: got {self.frequency!r}, expected an integer >= 1")

  def __call__(self, step: int) -> Tuple[bool, float]:
    """(whether to prune at `step`, the sparsity due at `step`)."""
    progress = min(max((step - self.begin_step) / (self.end_step - self.begin_step), 0.0),
                   1.0)
    sparsity = self.final + (self.initial - self.final) * (1 - progress) ** self.power
    due = self.begin_step <= step <= self.end_step and (
        (step - self.begin_step) % self.frequency == 0 or step == self.end_step)
    return due, sparsity


def gradual_magnitude(model, data: TaskData, target_sparsity: float, *,
                      settings: Optional[PruneSettings] = None) -> PruneResult:
  """Raises sparsity to the target over `gradual_epochs`, then fine-tunes with fixed masks."""
  settings, target = begin(model, data, target_sparsity, settings)
  pruned = clone(model)
  fine_tune = settings.fine_tune
  steps_per_epoch = math.ceil(len(data.train) / fine_tune.batch_size)
  ramp_steps = max(settings.gradual_epochs * steps_per_epoch, 1)
  schedule = PolynomialSchedule(0.0, target.sparsity, 0, ramp_steps,
                                min(settings.prune_every, ramp_steps))
  pruner = _gradual_pruner_class()(schedule, target.parameters)
  ramp = fit(pruned, data.train,
             dataclasses.replace(fine_tune, epochs=settings.gradual_epochs),
             validation=data.validation, callbacks=[pruner])
  final = global_magnitude_masks(kernels(pruned), target.zeros)
  apply_masks(pruned, final)
  history = ramp + fit(pruned, data.train, fine_tune, validation=data.validation,
                       masks=final)
  return PruneResult(pruned, final, "gradual_magnitude", target.sparsity, history)


@functools.lru_cache(maxsize=None)
def _gradual_pruner_class():
  import tensorflow as tf

  class GradualPruner(tf.keras.callbacks.Callback):
    """Recomputes global magnitude masks when the schedule says; enforces them every batch."""

    def __init__(self, schedule: PolynomialSchedule, parameters: int):
      super().__init__()
      self.schedule = schedule
      self.parameters = parameters
      self.masks = {}
      self.step = 0
      self._mask_variables = {}
      self._enforce = None

    def on_train_begin(self, logs=None):
      targets = {weight_name(layer.kernel): layer.kernel
                 for layer in prunable_layers(self.model)}
      self._mask_variables = {name: tf.Variable(tf.ones_like(kernel), trainable=False)
                              for name, kernel in targets.items()}
      self._enforce = masking_function(
          [(targets[name], mask) for name, mask in self._mask_variables.items()])

    def on_train_batch_begin(self, batch, logs=None):
      due, sparsity = self.schedule(self.step)
      if due:
        self.masks = global_magnitude_masks(
            kernels(self.model), math.ceil(sparsity * self.parameters - 1e-9))
        for name, mask in self.masks.items():
          self._mask_variables[name].assign(mask)
        self._enforce()

    def on_train_batch_end(self, batch, logs=None):
      self._enforce()
      self.step += 1

  return GradualPruner
