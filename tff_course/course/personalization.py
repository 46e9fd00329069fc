"""Personalized federated learning on MNIST where every client holds two digits: one global
model (FedAvg), the global model fine-tuned locally, Ditto's personal models, FedPer's
personal heads and FedBN's personal batch norm, each scored on every client's own held-out
examples.

With two digits per client, a model that only tells those two apart does well on the
client's data: the question is how much each method wins there, for the average client and
for the worst-off tenth, and what it costs the global model.
"""

from __future__ import annotations

import os
from typing import Dict, List, Tuple

import numpy as np

from tff_course.course import markdown
from tff_course.course.arms import Arm
from tff_course.course.experiment import CourseExperiment
from tff_course.course.figures import accuracy_histogram, new_figure, saved_image
from tff_course.course.questions import MEASURED, SEED_ERRORS, Answer, mean_and_error
from tff_course.course.results import Results, last_evaluated
from tff_course.course.seed_groups import (accuracy_cell, by_group, group_accuracy,
                                           method_seed_arms)
from tff_course.course.settings import FULL
from tff_course.experiment.client_accuracy import ClientAccuracy
from tff_course.experiment.config import DataConfig, ExperimentConfig, TrainConfig

DATASET = "mnist"
MODEL = "mnist_2nn"
BN_MODEL = "mnist_2nn_bn"
CLIENTS = 100
SHARDS = 2
HOLDOUT = 0.2
CLIENT_FRACTION = 0.1
LR = 0.05
BATCH = 10
LOCAL_STEPS = 20
ROUNDS = 40
FULL_ROUNDS = 150
EVAL_EVERY = 5
FINE_TUNE_STEPS = 20
SEEDS = (0, 1)
FULL_SEEDS = (0, 1, 2)
METHODS: Dict[str, Tuple[str, Dict[str, object]]] = {
    "fedavg": ("FedAvg (one global model)", {"algorithm": "fedavg"}),
    "ditto-0.1": ("Ditto, lambda 0.1", {"algorithm": "ditto", "ditto_lambda": 0.1}),
    "ditto-1": ("Ditto, lambda 1", {"algorithm": "ditto", "ditto_lambda": 1.0}),
    "fedper": ("FedPer (personal output layer)", {"algorithm": "fedper"}),
    "fedavg-bn": ("FedAvg, 2NN with batch norm", {"algorithm": "fedavg", "model": BN_MODEL}),
    "fedbn": ("FedBN (2NN with batch norm, kept per client)",
              {"algorithm": "fedbn", "model": BN_MODEL}),
}
FINE_TUNED = "FedAvg, then each client fine-tuned locally"


def _config(key: str, method: str, seed: int, rounds: int) -> ExperimentConfig:
  return ExperimentConfig(
      name=key,
      data=DataConfig(dataset=DATASET, partition="shards", num_clients=CLIENTS,
                      shards_per_client=SHARDS, client_holdout=HOLDOUT),
      train=TrainConfig(**{"model": MODEL, **METHODS[method][1]}, client_lr=LR,
                        epochs=None, steps=LOCAL_STEPS, batch_size=BATCH, rounds=rounds,
                        client_fraction=CLIENT_FRACTION, eval_every=EVAL_EVERY,
                        checkpoint_every=EVAL_EVERY, seed=seed))


def arms(setting: str) -> List[Arm]:
  full = setting == FULL
  rounds = FULL_ROUNDS if full else ROUNDS
  return method_seed_arms(METHODS, FULL_SEEDS if full else SEEDS,
                          lambda key, method, seed: _config(key, method, seed, rounds))


def fine_tuned(results: Results, key: str) -> ClientAccuracy:
  """FedAvg's final model of arm `key` fine-tuned by every client (FINE_TUNE_STEPS SGD
  steps of BATCH at LR on its own training examples), scored on its held-out ones."""
  from tff_course.experiment.federation import build_federation
  from tff_course.experiment.local_fine_tuning import fine_tuned_accuracy
  from tff_course.experiment.records import MODEL_WEIGHTS

  config = results.arm(key).config
  with build_federation(config, data_dir=results.data_dir) as federation:
    model = federation.build_keras_model()
    model.load_weights(os.path.join(results.path(key), MODEL_WEIGHTS))
    return fine_tuned_accuracy(
        model, [w.numpy() for w in model.trainable_weights],
        [w.numpy() for w in model.non_trainable_weights], federation.dataset.train,
        {d.id: d.indices for d in federation.devices}, federation.client_test,
        federation.dataset.modality, steps=FINE_TUNE_STEPS, learning_rate=LR,
        batch_size=BATCH)


def _prefix(columns) -> str:
  """Which held-out columns score the model a client would use: its personal one, or
  FedAvg's global one."""
  return "personal" if "personal_accuracy_mean" in columns else "client"


def own_model_accuracy(results: Results, keys: List[str]) -> Dict[str, Tuple[float, float]]:
  """{"mean", "p10"} -> (mean over seeds, standard error) of the clients' held-out
  accuracy under the model each would use, at the arms' last evaluation."""
  finals = {"mean": [], "p10": []}
  for key in keys:
    columns = results.metrics(key)
    for statistic, values in finals.items():
      values.append(last_evaluated(columns[f"{_prefix(columns)}_accuracy_{statistic}"]))
  return {statistic: mean_and_error(values) for statistic, values in finals.items()}


def fine_tuned_accuracy_over_seeds(results: Results) -> Tuple[Dict[str, Tuple[float, float]],
                                                             List[ClientAccuracy]]:
  """Local fine-tuning of every FedAvg arm's model: ({"mean", "p10"} -> (mean over seeds,
  standard error), each seed's ClientAccuracy)."""
  scored = [fine_tuned(results, key) for key in by_group(results)["fedavg"]]
  summary = {"mean": mean_and_error([s.mean() for s in scored]),
             "p10": mean_and_error([s.percentile(10) for s in scored])}
  return summary, scored


def _cell(value: Tuple[float, float]) -> str:
  mean, error = value
  return markdown.percent(mean) + ("" if np.isnan(error) else f" +- {100 * error:.2f}")


def _rows(results: Results, tuned: Dict[str, Tuple[float, float]]) -> List[List[str]]:
  rows = []
  for method, keys in by_group(results).items():
    own = own_model_accuracy(results, keys)
    rows.append([METHODS[method][0], accuracy_cell(results, keys), _cell(own["mean"]),
                 _cell(own["p10"])])
  rows.insert(1, [FINE_TUNED, "-", _cell(tuned["mean"]), _cell(tuned["p10"])])
  return rows


def _curves(results: Results) -> str:
  figure, axes = new_figure(2, figsize=(10, 3.6))
  for method, keys in by_group(results).items():
    for axis, statistic in zip(axes, ("mean", "p10")):
      curves = []
      for key in keys:
        columns = results.metrics(key)
        values = columns[f"{_prefix(columns)}_accuracy_{statistic}"]
        measured = ~np.isnan(values)
        curves.append((columns["round"][measured], values[measured]))
      length = min(len(rounds) for rounds, _ in curves)
      axis.plot(curves[0][0][:length],
                100 * np.mean([values[:length] for _, values in curves], axis=0),
                marker="o", markersize=3, label=METHODS[method][0])
  for axis, title in zip(axes, ("mean over clients", "10th percentile over clients")):
    axis.set_xlabel("round")
    axis.set_ylabel("own held-out accuracy (%, mean over seeds)")
    axis.set_title(title, fontsize=9)
  axes[0].legend(fontsize=7)
  figure.tight_layout()
  return saved_image(results, figure, "curves.png",
                     "each client's held-out accuracy under the model it would use")


def report(results: Results) -> List[str]:
  tuned, scored = fine_tuned_accuracy_over_seeds(results)
  return ["## Each client's own held-out data (the final models, mean +- s.e. over seeds)",
          markdown.table(["method", "global test accuracy", "clients' mean",
                          "clients' 10th percentile"], _rows(results, tuned)),
          f"Clients' columns: each client scored on its held-out {HOLDOUT:.0%} under the "
          "model it would use (its personal model or head for Ditto and FedPer, the global "
          "model with its own batch-norm layers for FedBN, the global model for FedAvg, "
          "FedAvg's model after "
          f"{FINE_TUNE_STEPS} local SGD steps for the fine-tuned row). Global test "
          "accuracy: the server's model on MNIST's test split (FedPer's global head "
          "stays as initialized, yet scores well: the clients' heads start from it and "
          "move little, so the shared body learns to work with it; FedBN's global model "
          "keeps the batch-norm layers as initialized, an identity at inference).",
          _curves(results),
          accuracy_histogram(results, {f"{FINE_TUNED}, seed {seed}": s
                                       for seed, s in zip(SEEDS, scored)},
                             "fine-tuned.png",
                             "FedAvg fine-tuned locally: the clients' held-out accuracy")]


def questions(results: Results) -> List[Answer]:
  groups = by_group(results)
  tuned, _ = fine_tuned_accuracy_over_seeds(results)
  own = {method: own_model_accuracy(results, keys) for method, keys in groups.items()}
  accuracy = {method: group_accuracy(results, keys) for method, keys in groups.items()}

  def pair(method: str) -> str:
    return (f"mean {_cell(own[method]['mean'])}, 10th percentile "
            f"{_cell(own[method]['p10'])}")

  return [
      Answer("How much does local fine-tuning of the global model win on each client's "
             "own data?",
             f"Fine-tuned: mean {_cell(tuned['mean'])}, 10th percentile "
             f"{_cell(tuned['p10'])}; the global model: {pair('fedavg')}.", MEASURED),
      Answer("And Ditto's personal models, and FedPer's personal heads?",
             f"Ditto (lambda 0.1): {pair('ditto-0.1')}; FedPer: {pair('fedper')}.",
             MEASURED),
      Answer("What does Ditto's lambda trade?",
             f"Personal models: lambda 0.1 {pair('ditto-0.1')}; lambda 1 {pair('ditto-1')}. "
             f"The global model is FedAvg's whatever lambda (lambda only pulls the personal "
             f"models): {markdown.percent(accuracy['ditto-0.1'][0])} and "
             f"{markdown.percent(accuracy['ditto-1'][0])} test accuracy.", MEASURED),
      Answer("Does keeping batch norm on the clients (FedBN) personalize?",
             f"FedBN: {pair('fedbn')}; FedAvg of the same batch-norm 2NN (statistics "
             f"averaged): {pair('fedavg-bn')}. FedBN was designed for feature shift "
             "(clients whose inputs differ in style); here the clients differ in labels.",
             MEASURED),
  ]


EXPERIMENT = CourseExperiment(
    name="personalization",
    title="Personalization: local fine-tuning, Ditto, FedPer and FedBN against one global "
          "model",
    description=(
        f"MNIST dealt to {CLIENTS} clients as McMahan et al.'s shards ({SHARDS} digits "
        f"each), every client keeping {HOLDOUT:.0%} of its examples as its own test data; "
        f"{int(CLIENTS * CLIENT_FRACTION)} clients a round take {LOCAL_STEPS} SGD steps "
        f"(lr {LR:g}, B = {BATCH}) of the 2NN for {ROUNDS} rounds, seeds "
        f"{', '.join(map(str, SEEDS))}. Ditto's personal models, FedPer's heads and "
        "FedBN's batch-norm layers are kept per client in the run's client-state store. "
        f"FedBN and its FedAvg baseline train {BN_MODEL} (the 2NN with batch norm before "
        "each hidden ReLU)."),
    duration="2.9 min measured from a clean clone (2 seeds, 40 rounds); --full: 150 rounds, "
             "3 seeds, est. 16 min",
    arms=arms, report=report, questions=questions, errors=SEED_ERRORS,
    assignment=(
        "The project's personalization contribution: per-client evaluation on each "
        "client's own held-out data (mean, 10th percentile, histogram), local fine-tuning "
        "after FL, Ditto, FedPer and FedBN, each keeping personal state per client."))
