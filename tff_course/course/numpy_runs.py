"""A NumPy arm's run: mini-batch SGD or FedAvg of a softmax-regression model in
tff_course.scratch, the global model evaluated after every server iteration."""

from __future__ import annotations

import time
from typing import Any, Dict, Iterator, Mapping, Optional

import numpy as np

from tff_course.course.outside_runs import write_outside_run
from tff_course.data import load_dataset
from tff_course.errors import ConfigError

ALGORITHMS = ("sgd", "fedavg")
COLUMNS = ("round", "train_loss", "train_accuracy", "test_loss", "test_accuracy",
           "gradient_steps", "seconds")


def run_numpy(settings: Mapping[str, Any], run_dir: str,
              data_dir: Optional[str] = None) -> Dict[str, float]:
  """Trains as `settings` say and writes run_dir/metrics.csv (the runner's columns;
  "round" is the server iteration, gradient_steps the mini-batch gradient evaluations so
  far, summed over clients), config.json and versions.json; returns the last row.

  Settings: dataset, dataset_options (load_dataset's, optional), algorithm ("sgd" or
  "fedavg"), local_steps (FedAvg's J), rounds (server iterations), lr, batch_size,
  seed. `data_dir` is for real datasets (the synthetic ones need none).
  """
  data = load_dataset(settings["dataset"], seed=settings["seed"], data_dir=data_dir,
                      **settings.get("dataset_options", {}))
  rows, steps = [], 0
  start = time.perf_counter()
  for round_num, (params, taken) in enumerate(_iterations(settings, data), 1):
    steps += taken
    rows.append({"round": round_num, **_scores(params, data.train, "train"),
                 **_scores(params, data.test, "test"), "gradient_steps": steps,
                 "seconds": time.perf_counter() - start})
    start = time.perf_counter()
  return write_outside_run(run_dir, settings, rows, COLUMNS)


def _iterations(settings: Mapping[str, Any], data) -> Iterator:
  from tff_course.scratch import fedavg_iterations, init_mlp, sgd_iterations

  if settings["algorithm"] not in ALGORITHMS:
    raise ConfigError(f"algorithm: got {settings['algorithm']!r}, expected one of "
                      f"{', '.join(ALGORITHMS)}")
  train, seed = data.train, settings["seed"]
  params = init_mlp((train.x.shape[1], data.num_classes), seed=seed)
  common = dict(learning_rate=settings["lr"], batch_size=settings["batch_size"],
                iterations=settings["rounds"], rng=np.random.default_rng(seed))
  if settings["algorithm"] == "sgd":
    return sgd_iterations(params, train.x, train.y, **common)
  clients = [(train.x[train.client_ids == c], train.y[train.client_ids == c])
             for c in np.unique(train.client_ids)]
  return fedavg_iterations(params, clients, local_steps=settings["local_steps"], **common)


def _scores(params, split, prefix: str) -> Dict[str, float]:
  from tff_course.scratch import accuracy, forward, softmax_cross_entropy

  loss, _ = softmax_cross_entropy(forward(params, split.x)[0], split.y)
  return {f"{prefix}_loss": loss, f"{prefix}_accuracy": accuracy(params, split.x, split.y)}
