"""SNIP: single-shot pruning at initialisation by connection sensitivity.

Lee, Ajanthan and Torr, "SNIP: Single-shot Network Pruning based on Connection
Sensitivity" (ICLR 2019). At a fresh initialisation, each kernel entry's saliency is
|dL/dw * w| on one batch of training data; the entries of lowest saliency network-wide
are pruned, and the sparse network is trained from scratch with its masks enforced.
The given model provides only the architecture: its trained weights are not used.
"""

from __future__ import annotations

import dataclasses
from typing import Dict, Optional

import numpy as np

from pruning.masks import apply_masks, prunable_layers, score_masks, weight_name
from pruning.methods.base import PruneResult, PruneSettings, begin
from pruning.reference import Arrays, TaskData
from pruning.training import fit


def connection_sensitivity(model, batch: Arrays) -> Dict[str, np.ndarray]:
  """|gradient x weight| of the cross-entropy loss on `batch`, for each prunable kernel."""
  import tensorflow as tf

  loss_fn = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)
  variables = [layer.kernel for layer in prunable_layers(model)]
  with tf.GradientTape() as tape:
    loss = loss_fn(batch.y, model(batch.x, training=True))
  gradients = tape.gradient(loss, variables)
  return {weight_name(v): np.abs(g.numpy() * v.numpy()) for v, g in zip(variables, gradients)}


def snip(model, data: TaskData, target_sparsity: float, *,
         settings: Optional[PruneSettings] = None) -> PruneResult:
  """Prunes a fresh initialisation of `model`'s architecture by SNIP, then trains it."""
  import tensorflow as tf

  settings, target = begin(model, data, target_sparsity, settings)
  tf.keras.utils.set_random_seed(settings.fine_tune.seed)
  fresh = tf.keras.models.clone_model(model)
  fresh.build(model.input_shape)
  batch = _stratified_batch(data.train, settings.snip_examples, settings.fine_tune.seed)
  masks = score_masks(connection_sensitivity(fresh, batch), target.zeros)
  apply_masks(fresh, masks)
  history = fit(fresh, data.train,
                dataclasses.replace(settings.fine_tune, epochs=settings.snip_epochs),
                validation=data.validation, masks=masks)
  return PruneResult(fresh, masks, "snip", target.sparsity, history)


def _stratified_batch(train: Arrays, size: int, seed: int) -> Arrays:
  """`size` examples drawn without replacement, as evenly over the classes as possible."""
  rng = np.random.default_rng(seed)
  classes = np.unique(train.y)
  per_class = max(size // len(classes), 1)
  chosen = np.concatenate([
      rng.choice(np.flatnonzero(train.y == c), min(per_class, int(np.sum(train.y == c))),
                 replace=False) for c in classes])
  return Arrays(train.x[chosen], train.y[chosen])
