"""NumPy mini-batch SGD against NumPy FedAvg with several numbers of local steps, on the
IID and the heterogeneous toy data (tff_course.scratch: no ML library)."""

from __future__ import annotations

import csv
import io
import json
import os
import time
from typing import Any, Dict, List, Mapping

import numpy as np

from tff_course.atomic import write_text
from tff_course.course import markdown
from tff_course.course.arms import Arm
from tff_course.course.experiment import CourseExperiment
from tff_course.course.results import Results
from tff_course.data import load_dataset
from tff_course.course.figures import arm_curves
from tff_course.versions import environment_versions

DATASETS = ("toy_iid", "toy_hetero")
LOCAL_STEPS = (1, 5, 20)
HIDDEN = 32
LEARNING_RATE = 0.05
BATCH_SIZE = 10
COLUMNS = ("round", "train_loss", "train_accuracy", "test_loss", "test_accuracy",
           "gradient_steps", "seconds")


def arms(setting: str) -> List[Arm]:
  rounds = 200 if setting == "full" else 50
  common = {"rounds": rounds, "lr": LEARNING_RATE, "batch_size": BATCH_SIZE, "seed": 0}
  result = []
  for dataset in DATASETS:
    result.append(Arm(f"{dataset}-sgd", f"{dataset}: SGD, one epoch a round",
                      settings={"dataset": dataset, "algorithm": "sgd", **common},
                      run_numpy=run_numpy))
    result += [Arm(f"{dataset}-fedavg-j{steps}", f"{dataset}: FedAvg J={steps}",
                   settings={"dataset": dataset, "algorithm": "fedavg", "local_steps": steps,
                             **common}, run_numpy=run_numpy)
               for steps in LOCAL_STEPS]
  return result


def run_numpy(settings: Mapping[str, Any], run_dir: str) -> Dict[str, float]:
  """Trains the MLP as `settings` say, evaluating on the pooled data every round; writes
  run_dir/metrics.csv (the runner's columns) and config.json; returns the last row."""
  from tff_course.scratch import fedavg_round, init_mlp, sgd

  data = load_dataset(settings["dataset"], seed=settings["seed"])
  train, test = data.train, data.test
  rng = np.random.default_rng(settings["seed"])
  params = init_mlp((train.x.shape[1], HIDDEN, data.num_classes), seed=settings["seed"])
  clients = [(train.x[train.client_ids == c], train.y[train.client_ids == c])
             for c in np.unique(train.client_ids)]
  rows, steps = [], 0
  for round_num in range(1, settings["rounds"] + 1):
    start = time.perf_counter()
    if settings["algorithm"] == "sgd":
      params, _ = sgd(params, train.x, train.y, learning_rate=settings["lr"],
                      batch_size=settings["batch_size"], rng=rng)
      steps += int(np.ceil(len(train.y) / settings["batch_size"]))
    else:
      params, _ = fedavg_round(params, clients, learning_rate=settings["lr"],
                               batch_size=settings["batch_size"], rng=rng,
                               steps=settings["local_steps"])
      steps += settings["local_steps"] * len(clients)
    rows.append({"round": round_num, **_scores(params, train, "train"),
                 **_scores(params, test, "test"), "gradient_steps": steps,
                 "seconds": time.perf_counter() - start})
  os.makedirs(run_dir, exist_ok=True)
  write_text(os.path.join(run_dir, "config.json"), json.dumps(dict(settings), indent=2) + "\n")
  write_text(os.path.join(run_dir, "versions.json"),
             json.dumps(environment_versions(), indent=2) + "\n")
  write_text(os.path.join(run_dir, "metrics.csv"), _csv(rows))
  return {k: float(v) for k, v in rows[-1].items() if k != "round"}


def _scores(params, split, prefix: str) -> Dict[str, float]:
  from tff_course.scratch import accuracy, forward, softmax_cross_entropy

  loss, _ = softmax_cross_entropy(forward(params, split.x)[0], split.y)
  return {f"{prefix}_loss": loss, f"{prefix}_accuracy": accuracy(params, split.x, split.y)}


def _csv(rows: List[Dict[str, float]]) -> str:
  stream = io.StringIO()
  writer = csv.DictWriter(stream, fieldnames=COLUMNS, lineterminator="\n")
  writer.writeheader()
  writer.writerows(rows)
  return stream.getvalue()


def report(results: Results) -> List[str]:
  sections = []
  for dataset in DATASETS:
    chosen = [arm for arm in results.arms if arm.settings["dataset"] == dataset]
    sections += [f"## {dataset}",
                 arm_curves(results, [arm.key for arm in chosen], f"{dataset}.png",
                            f"NumPy SGD vs FedAvg, {dataset}"),
                 steps_table(results, chosen)]
  return sections


def steps_table(results: Results, chosen: List[Arm]) -> str:
  """Final accuracy and loss, and the gradient steps it took, per arm."""
  rows = []
  for arm in chosen:
    columns = results.metrics(arm.key)
    rows.append((arm.label, f"{int(columns['gradient_steps'][-1]):,}",
                 f"{columns['train_loss'][-1]:.4f}",
                 markdown.percent(columns["test_accuracy"][-1])))
  return markdown.table(("run", "gradient steps", "final train loss", "final test acc."),
                        rows)


EXPERIMENT = CourseExperiment(
    name="numpy-fedavg",
    title="NumPy mini-batch SGD against NumPy FedAvg",
    description=(
        "The from-scratch exercise: a one-hidden-layer MLP (32 ReLU units) with "
        "hand-written backpropagation trained on the toy blobs of 10 clients. SGD passes "
        "once over the pooled training data per round (B = 10, lr 0.05); FedAvg has every "
        "client take J local steps (B = 10, lr 0.05) from the global model and averages "
        "the results by size. What to look for: whether more local steps buy progress "
        "per round on IID clients, and how much of it survives on heterogeneous clients "
        "(label skew and covariate shift), where local models drift apart. Losses and accuracies are on the pooled train "
        "and test sets."),
    duration="10 s measured (50 rounds); --full: 200 rounds, est. 40 s",
    arms=arms, report=report, questions=lambda results: [], assignment="")
