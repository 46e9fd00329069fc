"""The reference line: tensorflow-model-optimization's `prune_low_magnitude`.

Used only as an anchor to beat on the frontier, never inside our methods. It gets the
gradual method's budget: sparsity rises on tfmot's PolynomialDecay over
`gradual_epochs`, then `fine_tune.epochs` more epochs at the final sparsity. tfmot
prunes every kernel to the same fraction, chosen so that the zeros over all
parameters reach the target as ours do.
"""

from __future__ import annotations

import math
from typing import Optional

from pruning.masks import kernels
from pruning.methods.base import PruneResult, PruneSettings, begin
from pruning.reference import TaskData
from pruning.training import clone, compile_model

NAME = "tfmot_prune_low_magnitude"


def tfmot_prune_low_magnitude(model, data: TaskData, target_sparsity: float, *,
                              settings: Optional[PruneSettings] = None) -> PruneResult:
  """Prunes a copy of `model` with tfmot and strips the wrappers; masks are its zeros."""
  import tensorflow as tf
  import tensorflow_model_optimization as tfmot

  settings, target = begin(model, data, target_sparsity, settings)
  fine_tune = settings.fine_tune
  fraction = target.zeros / sum(value.size for value in kernels(model).values())
  steps_per_epoch = math.ceil(len(data.train) / fine_tune.batch_size)
  schedule = tfmot.sparsity.keras.PolynomialDecay(
      initial_sparsity=0.0, final_sparsity=fraction, begin_step=0,
      end_step=max(settings.gradual_epochs * steps_per_epoch, 1),
      frequency=settings.prune_every)
  tf.keras.utils.set_random_seed(fine_tune.seed)
  wrapped = tfmot.sparsity.keras.prune_low_magnitude(clone(model), pruning_schedule=schedule)
  compile_model(wrapped, fine_tune.learning_rate)
  epochs = settings.gradual_epochs + fine_tune.epochs
  history = wrapped.fit(data.train.x, data.train.y, batch_size=fine_tune.batch_size,
                        epochs=epochs, shuffle=True, verbose=0,
                        validation_data=(data.validation.x, data.validation.y),
                        callbacks=[tfmot.sparsity.keras.UpdatePruningStep()])
  stripped = tfmot.sparsity.keras.strip_pruning(wrapped)
  masks = {name: (value != 0).astype("float32") for name, value in kernels(stripped).items()}
  rows = [{key: float(values[i]) for key, values in history.history.items()}
          for i in range(epochs)]
  return PruneResult(stripped, masks, NAME, target.sparsity, rows)
