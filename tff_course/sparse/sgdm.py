"""SparseSGDM: a Keras optimizer that updates only the weight entries a mask allows.

SGD with momentum as PyTorch defines it (see `sgdm_step`), with the mask applied to the
gradient, the momentum buffer, the weight decay and the update: an entry whose mask is 0
keeps its value bit for bit, however many steps are taken. Masks are optimizer variables,
so they are saved and loaded with the model (`model.save("m.keras")`); they start as
all ones (dense SGDM) until `set_masks` is called.

Example:
  >>> optimizer = SparseSGDM(learning_rate=0.01, momentum=0.9)
  >>> optimizer.build(model.trainable_variables)
  >>> optimizer.set_masks(masks)          # {"layer1.0.conv1/kernel": 0/1 array, ...}
  >>> model.compile(optimizer=optimizer, loss=...)
"""

from __future__ import annotations

from typing import Dict, Mapping

import numpy as np
import tensorflow as tf

from tff_course.errors import ConfigError
from tff_course.sparse.mask_set import matched_masks, variable_key
from tff_course.sparse.sgdm_step import SGDMSettings, sparse_sgdm_step


@tf.keras.utils.register_keras_serializable(package="tff_course")
class SparseSGDM(tf.keras.optimizers.Optimizer):
  """SGD with momentum, dampening, Nesterov and L2 weight decay, under 0/1 masks."""

  def __init__(self, learning_rate=0.01, momentum: float = 0.9, dampening: float = 0.0,
               nesterov: bool = False, weight_decay: float = 0.0, name: str = "SparseSGDM",
               jit_compile: bool = False, **kwargs):
    kwargs.pop("is_legacy_optimizer", None)
    super().__init__(name=name, weight_decay=None, jit_compile=jit_compile, **kwargs)
    self.settings = SGDMSettings(momentum=momentum, dampening=dampening,
                                 nesterov=nesterov, weight_decay=weight_decay)
    self._learning_rate = self._build_learning_rate(learning_rate)

  def build(self, var_list):
    super().build(var_list)
    if getattr(self, "_built", False):
      return
    self.momentum_buffers = [self.add_variable_from_reference(variable, "momentum")
                             for variable in var_list]
    self.masks = [self.add_variable_from_reference(variable, "mask",
                                                   initial_value=tf.ones_like(variable))
                  for variable in var_list]
    self._mask_keys = [variable_key(variable) for variable in var_list]
    self._built = True

  def set_masks(self, masks: Mapping[str, np.ndarray]) -> None:
    """Sets the mask of every variable the optimizer was built on, by variable key.

    Raises:
      ConfigError: the optimizer is not built, or `masks` does not hold exactly one mask of
        the right shape for each of its variables (see `mask_set.matched_masks`).
    """
    if not getattr(self, "_built", False):
      raise ConfigError("SparseSGDM.set_masks: the optimizer is not built; call "
                        "optimizer.build(model.trainable_variables) first")
    shapes = {key: tuple(mask.shape) for key, mask in zip(self._mask_keys, self.masks)}
    masks = matched_masks(masks, shapes)
    for key, variable in zip(self._mask_keys, self.masks):
      variable.assign(np.asarray(masks[key], variable.dtype.as_numpy_dtype))

  def current_masks(self) -> Dict[str, np.ndarray]:
    """Variable key -> the mask in use."""
    return {key: mask.numpy() for key, mask in zip(self._mask_keys, self.masks)}

  def update_step(self, gradient, variable):
    if isinstance(gradient, tf.IndexedSlices):
      gradient = tf.convert_to_tensor(gradient)
    index = self._index_dict[self._var_key(variable)]
    buffer = self.momentum_buffers[index]
    weight, new_buffer = sparse_sgdm_step(
        variable, gradient, buffer, self.masks[index], self.learning_rate,
        tf.equal(self.iterations, 0), self.settings)
    buffer.assign(new_buffer)
    variable.assign(weight)

  def get_config(self):
    config = super().get_config()
    config.pop("weight_decay", None)
    config.update({
        "learning_rate": self._serialize_hyperparameter(self._learning_rate),
        "momentum": self.settings.momentum,
        "dampening": self.settings.dampening,
        "nesterov": self.settings.nesterov,
        "weight_decay": self.settings.weight_decay,
    })
    return config
