"""A course arm that trains one model centrally at a batch size with SGD, LARS or LAMB: the
learning rate scaled from its base batch size by a rule, warmed up and decayed, one
metrics row per epoch in the runner's format."""

from __future__ import annotations

import math
import time
from typing import Any, Dict, Mapping, Optional

import numpy as np

from tff_course.course.outside_runs import write_outside_run
from tff_course.errors import ConfigError

OPTIMIZERS = ("sgd", "lars", "lamb")
COLUMNS = ("round", "train_loss", "test_accuracy", "test_loss", "seconds", "gradient_steps",
           "learning_rate")


def build_optimizer(name: str, schedule, weight_decay: float):
  """SGD with momentum 0.9, LARS or LAMB on the learning-rate `schedule`."""
  import tensorflow as tf

  from tff_course.distributed.lamb import LAMB
  from tff_course.distributed.lars import LARS

  if name == "sgd":
    return tf.keras.optimizers.SGD(schedule, momentum=0.9)
  if name == "lars":
    return LARS(schedule, momentum=0.9, weight_decay=weight_decay)
  if name == "lamb":
    return LAMB(schedule, weight_decay=weight_decay)
  raise ConfigError(f"optimizer: got {name!r}, expected one of {', '.join(OPTIMIZERS)}")


def run_large_batch(settings: Mapping[str, Any], run_dir: str,
                    data_dir: Optional[str] = None) -> Dict[str, float]:
  """Trains as `settings` say and writes run_dir's files; returns the last row.

  Settings: dataset, model, limit (optional), seed, optimizer (sgd, lars or lamb),
  batch_size, base_lr, base_batch_size, rule (linear, sqrt or none), warmup (share of the
  steps), weight_decay (LARS and LAMB), rounds (epochs).
  """
  import tensorflow as tf

  from tff_course.algorithms.warmup_decay import WarmupDecay
  from tff_course.distributed.lr_scaling import scaled_learning_rate
  from tff_course.distributed.training_source import TrainingSource
  from tff_course.tf_log import drop_retracing_warnings

  drop_retracing_warnings()
  source = TrainingSource(settings["dataset"], settings["model"], data_dir,
                          settings.get("limit"), settings["seed"])
  x, y, build = source.load()
  test = source.test_split()
  batch = settings["batch_size"]
  steps_per_epoch = math.ceil(len(x) / batch)
  total = steps_per_epoch * settings["rounds"]
  peak = scaled_learning_rate(settings["base_lr"], batch, settings["base_batch_size"],
                              settings["rule"])
  schedule = WarmupDecay(peak, total_steps=total,
                         warmup_steps=int(settings["warmup"] * total))
  tf.keras.utils.set_random_seed(settings["seed"])
  model = build()
  model.compile(build_optimizer(settings["optimizer"], schedule, settings["weight_decay"]),
                loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                metrics=["accuracy"])
  rows = []
  for epoch in range(1, settings["rounds"] + 1):
    began = time.perf_counter()
    history = model.fit(x, y, batch_size=batch, epochs=1, shuffle=True, verbose=0)
    seconds = time.perf_counter() - began
    test_loss, test_accuracy = model.evaluate(*test, batch_size=1000, verbose=0)
    train_loss = float(history.history["loss"][-1])
    rows.append({"round": epoch, "train_loss": train_loss, "test_accuracy": test_accuracy,
                 "test_loss": test_loss, "seconds": seconds,
                 "gradient_steps": epoch * steps_per_epoch,
                 "learning_rate": float(schedule(epoch * steps_per_epoch))})
    if not np.isfinite(train_loss):
      break
  return write_outside_run(run_dir, settings, rows, COLUMNS)
