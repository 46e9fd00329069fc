"""Centralized (sparse) fine-tuning of a pre-trained Keras classifier with SparseSGDM.

The model runs in inference mode throughout (`training=False`): batch-norm statistics
stay the pre-trained ones while its scale and offset may be fine-tuned, which is how a
frozen backbone is fine-tuned in Keras. Dense fine-tuning is the same with all-ones masks
on the eligible variables.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import sys
from typing import Callable, List, Mapping, Optional

import numpy as np

from tff_course.algorithms.schedule_names import SCHEDULES
from tff_course.errors import ConfigError
from tff_course.sparse.sgdm_step import SGDMSettings



@dataclasses.dataclass(frozen=True)
class FinetuneSettings:
  """Steps, batch size and SGDM hyperparameters; `schedule` shapes the learning rate.

  "cosine" anneals to 0 after `warmup_steps` of linear warmup (SGDR); "step" divides it by
  10 at 50 % and 75 % of the steps; "constant" keeps it.
  """

  steps: int = 300
  batch_size: int = 64
  learning_rate: float = 0.01
  schedule: str = "cosine"
  warmup_steps: int = 0
  sgdm: SGDMSettings = SGDMSettings()
  seed: int = 0

  def __post_init__(self):
    for name in ("steps", "batch_size"):
      value = getattr(self, name)
      if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ConfigError(f"{name}: got {value!r}, expected a positive integer")
    if not (isinstance(self.learning_rate, numbers.Real) and math.isfinite(self.learning_rate)
            and self.learning_rate > 0):
      raise ConfigError(f"learning_rate: got {self.learning_rate!r}, expected a finite "
                        f"number > 0")
    if self.schedule not in SCHEDULES:
      raise ConfigError(f"schedule: got {self.schedule!r}, expected one of "
                        f"{', '.join(SCHEDULES)}")


def learning_rate(settings: FinetuneSettings):
  """The Keras learning rate (a number or a schedule over optimizer steps)."""
  from tff_course.algorithms.schedules import keras_schedule

  return keras_schedule(settings.schedule, settings.learning_rate, settings.steps,
                        settings.warmup_steps)


def sparse_optimizer(model, masks: Mapping[str, np.ndarray], settings: FinetuneSettings):
  """A SparseSGDM built on `model`'s trainable variables with `masks` set."""
  from tff_course.sparse.sgdm import SparseSGDM

  sgdm = settings.sgdm
  optimizer = SparseSGDM(learning_rate(settings), momentum=sgdm.momentum,
                         dampening=sgdm.dampening, nesterov=sgdm.nesterov,
                         weight_decay=sgdm.weight_decay)
  optimizer.build(model.trainable_variables)
  optimizer.set_masks(masks)
  return optimizer


def batch_indices(count: int, batch_size: int, steps: int, seed: int) -> List[np.ndarray]:
  """Example indices of each step: shuffled epochs, seeded; a short batch ends none."""
  rng = np.random.default_rng(seed)
  order: List[int] = []
  batches = []
  for _ in range(steps):
    if len(order) < batch_size:
      order.extend(rng.permutation(count).tolist())
    batches.append(np.array(order[:batch_size]))
    del order[:batch_size]
  return batches


def finetune(model, masks: Mapping[str, np.ndarray], images: np.ndarray, labels: np.ndarray,
             settings: FinetuneSettings, *, optimizer=None, first_step: int = 0,
             on_step: Optional[Callable[[int, float], None]] = None,
             progress: bool = False) -> List[float]:
  """Fine-tunes `model` in place under `masks`; returns the loss of every step run.

  Args:
    images, labels: model inputs (images as `tff_course.data.pipeline.model_inputs`
      makes them, pixels in [0, 1]) and integer labels.
    masks: one 0/1 mask per trainable variable (1: may be updated).
    optimizer: a SparseSGDM to continue with (resuming); by default a new one.
    first_step: the step to start from (resuming: the batches are the same as unbroken).
    on_step: called with (steps done, loss) after each step.
  """
  import tensorflow as tf
  from tqdm.auto import tqdm

  from tff_course.runtime.keras_classes import usable_eagerly

  usable_eagerly(model)
  optimizer = optimizer or sparse_optimizer(model, masks, settings)
  loss_function = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)
  variables = model.trainable_variables

  @tf.function
  def step(x, y):
    with tf.GradientTape() as tape:
      loss = loss_function(y, model(x, training=False))
    optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
    return loss

  batches = batch_indices(len(images), settings.batch_size, settings.steps, settings.seed)
  losses = []
  with tqdm(total=settings.steps, initial=first_step, desc="fine-tune", unit="step",
            disable=not progress, file=sys.stderr, dynamic_ncols=True) as bar:
    for index in range(first_step, settings.steps):
      batch = batches[index]
      losses.append(float(step(tf.constant(images[batch], tf.float32),
                               tf.constant(labels[batch]))))
      bar.update(1)
      if on_step is not None:
        on_step(index + 1, losses[-1])
  return losses


def accuracy(model, images: np.ndarray, labels: np.ndarray, *, batch_size: int = 500) -> float:
  """The fraction of `images` (model inputs) whose highest logit is their label."""
  from tff_course.runtime.keras_classes import usable_eagerly

  logits = usable_eagerly(model).predict(np.asarray(images, np.float32),
                                         batch_size=batch_size, verbose=0)
  return float(np.mean(np.argmax(logits, axis=1) == np.asarray(labels)))
