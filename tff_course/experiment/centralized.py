"""The centralized baseline: one Keras model trained on the union of the clients' data.

SGD with momentum (or Adam), optionally with cosine annealing after a linear warmup
(Loshchilov and Hutter, "SGDR", ICLR 2017; Goyal et al., "Accurate, Large Minibatch
SGD", 2017). One epoch (with train.steps, that many batches) is one "round", and the
metrics file has the federated runner's columns, so a baseline plots beside federated
runs. With a one-client partition of a fraction of
the data it is the single-device baseline. The model and optimizer are checkpointed
each round; re-running resumes.
"""

from __future__ import annotations

import math
import os
import sys
import time
from typing import Dict

import numpy as np

from tff_course.algorithms.evaluation import evaluate_weights
from tff_course.experiment.federation import Federation, keras_model_weights
from tff_course.experiment.records import CHECKPOINTS_DIR, save_model_weights


def fine_tuning_optimizer(model, train, rate):
  """SparseSGDM (PyTorch's SGD) under train.masks (all ones without), from
  train.init_weights: centralized fine-tuning of a pre-trained model."""
  from tff_course.experiment.federation import load_keras_weights
  from tff_course.sparse.mask_set import load_masks, model_shapes
  from tff_course.sparse.sgdm import SparseSGDM

  if train.init_weights:
    load_keras_weights(model, train.init_weights)
  masks = (load_masks(train.masks) if train.masks else
           {key: np.ones(shape, np.float32) for key, shape in model_shapes(model).items()})
  optimizer = SparseSGDM(rate, momentum=train.client_momentum or 0.0,
                         weight_decay=train.client_weight_decay)
  optimizer.build(model.trainable_variables)
  optimizer.set_masks(masks)
  return optimizer


def inference_mode(model):
  """A model sharing `model`'s layers that always calls it with training=False (batch
  norm keeps its statistics while its scale and offset train), for `fit`."""
  import tensorflow as tf

  inputs = tf.keras.Input(model.input_shape[1:])
  return tf.keras.Model(inputs, model(inputs, training=False), name=f"{model.name}_frozen_bn")


def run_centralized(federation: Federation, run_dir: str, releases, *,
                    progress: bool = True, on_round_end=None) -> Dict[str, float]:
  """Trains the baseline for `train.rounds` epochs (resuming); returns the last metrics."""
  import tensorflow as tf
  from tqdm.auto import tqdm

  from tff_course.algorithms.schedules import keras_schedule
  from tff_course.data.pipeline import make_tf_dataset
  from tff_course.sampling import round_seed

  train = federation.config.train
  split = federation.dataset.train
  indices = np.sort(np.concatenate([d.indices for d in federation.devices]))
  x, y = split.x[indices], split.y[indices]
  batch = train.batch_size or len(indices)
  steps_per_epoch = train.steps or int(math.ceil(len(indices) / batch))
  tf.keras.utils.set_random_seed(train.seed)
  model = federation.build_keras_model()
  rate = keras_schedule(train.lr_schedule, train.client_lr, steps_per_epoch * train.rounds,
                        steps_per_epoch * train.warmup_rounds)
  fine_tuning = bool(train.init_weights or train.masks)
  if fine_tuning:
    optimizer = fine_tuning_optimizer(model, train, rate)
    fitted = inference_mode(model)
  else:
    optimizer = (tf.keras.optimizers.Adam(rate) if train.client_optimizer == "adam" else
                 tf.keras.optimizers.SGD(rate, momentum=train.client_momentum or 0.0))
    fitted = model
  fitted.compile(optimizer, tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                 metrics=[tf.keras.metrics.SparseCategoricalAccuracy(name="accuracy")])
  optimizer.build(model.trainable_variables)
  checkpoint = tf.train.Checkpoint(model=model, optimizer=optimizer)
  manager = tf.train.CheckpointManager(checkpoint, os.path.join(run_dir, CHECKPOINTS_DIR), 3)
  done = 0
  if manager.latest_checkpoint:
    checkpoint.restore(manager.latest_checkpoint)
    done = int(manager.latest_checkpoint.rsplit("-", 1)[1])
    releases.recover(done)
  evaluation_model = federation.build_keras_model()
  metrics: Dict[str, float] = {}
  bar = tqdm(total=train.rounds, initial=done, unit="epoch", disable=not progress,
             file=sys.stderr, desc=federation.config.name, dynamic_ncols=True)
  try:
    for epoch in range(done + 1, train.rounds + 1):
      start = time.perf_counter()
      data = make_tf_dataset(x, y, federation.dataset.modality, batch_size=batch,
                             shuffle_seed=round_seed(train.seed, epoch))
      if train.steps:
        data = data.repeat().take(train.steps)
      history = fitted.fit(data, epochs=1, verbose=0)
      metrics = {"train_loss": float(history.history["loss"][-1]),
                 "train_accuracy": float(history.history["accuracy"][-1]),
                 "clients": len(federation.devices),
                 "examples": min(steps_per_epoch * batch, len(indices)) if train.steps
                             else len(indices)}
      if epoch % train.eval_every == 0 or epoch == train.rounds:
        test = federation.dataset.test
        metrics.update({f"test_{k}": v for k, v in evaluate_weights(
            evaluation_model, keras_model_weights(model), test.x, test.y,
            federation.dataset.modality).items()})
      metrics["seconds"] = time.perf_counter() - start
      releases.release(metrics, epoch)
      manager.save(checkpoint_number=epoch)
      releases.commit()
      bar.set_postfix({"loss": f"{metrics['train_loss']:.3f}"}, refresh=False)
      bar.update(1)
      if on_round_end is not None:
        on_round_end(epoch)
    if done < train.rounds:
      save_model_weights(model, run_dir)
  finally:
    bar.close()
  return metrics

