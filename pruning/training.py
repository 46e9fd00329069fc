"""Training and evaluation shared by the reference run and the pruning methods.

Masks, when given, are enforced through training: applied before the first step and
after every optimizer step, so a pruned weight is zero whenever a batch ends.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np

from pruning.reference import Arrays
from tff_course.errors import ConfigError


@dataclasses.dataclass(frozen=True)
class FitSettings:
  """How to train: epochs, batch size, Adam's learning rate and the shuffling seed."""

  epochs: int = 50
  batch_size: int = 64
  learning_rate: float = 1e-3
  seed: int = 0

  def __post_init__(self):
    for name in ("epochs", "batch_size"):
      value = getattr(self, name)
      if not isinstance(value, int) or isinstance(value, bool) or value < (
          0 if name == "epochs" else 1):
        raise ConfigError(f"{name}: got {value!r}, expected an integer >= "
                          f"{0 if name == 'epochs' else 1}")
    if not self.learning_rate > 0:
      raise ConfigError(f"learning_rate: got {self.learning_rate!r}, expected > 0")


def compile_model(model, learning_rate: float) -> None:
  """Adam and sparse cross-entropy on logits, with an accuracy metric."""
  import tensorflow as tf

  model.compile(tf.keras.optimizers.Adam(learning_rate),
                tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                metrics=[tf.keras.metrics.SparseCategoricalAccuracy(name="accuracy")])


def fit(model, train: Arrays, settings: FitSettings, *,
        validation: Optional[Arrays] = None, masks: Optional[Dict[str, np.ndarray]] = None,
        on_epoch_end: Optional[Callable[[int, dict], None]] = None,
        callbacks: Sequence = ()) -> List[dict]:
  """Trains `model` in place (masks enforced if given); returns one metrics dict per epoch.

  `callbacks` are further Keras callbacks, run after the mask enforcer.
  """
  import tensorflow as tf

  from pruning.masks import apply_masks, mask_enforcer

  if masks is not None:
    apply_masks(model, masks)
  if settings.epochs == 0:
    return []
  tf.keras.utils.set_random_seed(settings.seed)
  compile_model(model, settings.learning_rate)
  callbacks = list(callbacks)
  if masks is not None:
    callbacks.insert(0, mask_enforcer(masks))
  if on_epoch_end is not None:
    callbacks.append(tf.keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: on_epoch_end(epoch + 1, dict(logs or {}))))
  history = model.fit(train.x, train.y, batch_size=settings.batch_size,
                      epochs=settings.epochs, shuffle=True, verbose=0,
                      validation_data=None if validation is None else (validation.x,
                                                                       validation.y),
                      callbacks=callbacks)
  keys = list(history.history)
  return [{key: float(history.history[key][i]) for key in keys}
          for i in range(settings.epochs)]


def predict_labels(model, x: np.ndarray, *, batch_size: int = 500) -> np.ndarray:
  """The arg-max class of each example (eager calls in batches: no retracing per model)."""
  return np.concatenate([np.argmax(model(x[i:i + batch_size], training=False).numpy(), -1)
                         for i in range(0, len(x), batch_size)])


def accuracy(model, data: Arrays) -> float:
  """Fraction of `data` the model classifies correctly."""
  if len(data) == 0:
    raise ConfigError("accuracy: the evaluation set is empty")
  return float(np.mean(predict_labels(model, data.x) == data.y))


def clone(model):
  """A copy of `model` with the same architecture and weights (the original is untouched)."""
  import tensorflow as tf

  copy = tf.keras.models.clone_model(model)
  copy.set_weights(model.get_weights())
  return copy
