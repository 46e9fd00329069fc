"""The Keras plumbing LARS and LAMB share: a learning rate or schedule, weight decay and
the two exclusion rules, one list of slot variables per slot name, the per-variable
flags, and `get_config`. Subclasses name their slots, add their hyperparameters and
write `layer_step`."""

from __future__ import annotations

import math
from typing import Dict, Sequence

import tensorflow as tf

from tff_course.distributed.layer_adaptation import VECTORS, check_exclusions, included
from tff_course.ranges import check_range


class LayerwiseOptimizer(tf.keras.optimizers.Optimizer):
  """Base class: `layer_step(gradient, variable, slots, adapted, decay)` does the update."""

  SLOTS: Sequence[str] = ()

  def __init__(self, learning_rate, weight_decay: float, exclude_from_adaptation=VECTORS,
               exclude_from_weight_decay=None, *, name: str, jit_compile: bool = False,
               **kwargs):
    kwargs.pop("is_legacy_optimizer", None)
    super().__init__(name=name, weight_decay=None, jit_compile=jit_compile, **kwargs)
    self._learning_rate = self._build_learning_rate(learning_rate)
    self.layer_weight_decay = check_range("weight_decay", weight_decay, 0.0, math.inf,
                                          upper_open=True)
    self.exclude_from_adaptation, self.exclude_from_weight_decay = check_exclusions(
        exclude_from_adaptation, exclude_from_weight_decay)

  def build(self, var_list):
    super().build(var_list)
    if getattr(self, "_built", False):
      return
    self.slots = {slot: [self.add_variable_from_reference(variable, slot)
                         for variable in var_list] for slot in self.SLOTS}
    self._adapted = included(var_list, self.exclude_from_adaptation)
    self._decayed = included(var_list, self.exclude_from_weight_decay)
    self._built = True

  def update_step(self, gradient, variable):
    if isinstance(gradient, tf.IndexedSlices):
      gradient = tf.convert_to_tensor(gradient)
    index = self._index_dict[self._var_key(variable)]
    slots = {slot: variables[index] for slot, variables in self.slots.items()}
    decay = self.layer_weight_decay if self._decayed[index] else 0.0
    self.layer_step(gradient, variable, slots, self._adapted[index], decay)

  def layer_step(self, gradient, variable, slots: Dict[str, tf.Variable], adapted: bool,
                 decay: float) -> None:
    raise NotImplementedError

  def hyperparameters(self) -> Dict[str, float]:
    """The subclass's own constructor arguments, for `get_config`."""
    return {}

  def get_config(self):
    config = super().get_config()
    config.update({
        "learning_rate": self._serialize_hyperparameter(self._learning_rate),
        "weight_decay": self.layer_weight_decay,
        "exclude_from_adaptation": self.exclude_from_adaptation,
        "exclude_from_weight_decay": self.exclude_from_weight_decay,
        **self.hyperparameters()})
    return config
