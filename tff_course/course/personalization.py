"""Personalized federated learning on MNIST where every client holds two digits: one global
model (FedAvg), the global model fine-tuned locally, Ditto's personal models and FedPer's
personal heads, each scored on every client's own held-out examples.

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
from tff_course.course.questions import MEASURED, Answer
from tff_course.course.results import Results, last_evaluated
from tff_course.course.settings import FULL
from tff_course.experiment.client_accuracy import ClientAccuracy
from tff_course.experiment.config import DataConfig, ExperimentConfig, TrainConfig

DATASET = "mnist"
MODEL = "mnist_2nn"
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
METHODS: Dict[str, Tuple[str, Dict[str, object]]] = {
    "fedavg": ("FedAvg (one global model)", {"algorithm": "fedavg"}),
    "ditto-0.1": ("Ditto, lambda 0.1", {"algorithm": "ditto", "ditto_lambda": 0.1}),
    "ditto-1": ("Ditto, lambda 1", {"algorithm": "ditto", "ditto_lambda": 1.0}),
    "fedper": ("FedPer (personal output layer)", {"algorithm": "fedper"}),
}
FINE_TUNED = "FedAvg, then each client fine-tuned locally"


def _config(key: str, rounds: int) -> ExperimentConfig:
  return ExperimentConfig(
      name=key,
      data=DataConfig(dataset=DATASET, partition="shards", num_clients=CLIENTS,
                      shards_per_client=SHARDS, client_holdout=HOLDOUT),
      train=TrainConfig(model=MODEL, client_lr=LR, epochs=None, steps=LOCAL_STEPS,
                        batch_size=BATCH, rounds=rounds, client_fraction=CLIENT_FRACTION,
                        eval_every=EVAL_EVERY, checkpoint_every=EVAL_EVERY,
                        **METHODS[key][1]))


def arms(setting: str) -> List[Arm]:
  rounds = FULL_ROUNDS if setting == FULL else ROUNDS
  return [Arm(key, label, _config(key, rounds)) for key, (label, _) in METHODS.items()]


def fine_tuned(results: Results) -> ClientAccuracy:
  """FedAvg's final model fine-tuned by every client (FINE_TUNE_STEPS SGD steps of BATCH
  at LR on its own training examples), scored on its held-out ones."""
  from tff_course.experiment.federation import build_federation
  from tff_course.experiment.local_fine_tuning import fine_tuned_accuracy
  from tff_course.experiment.records import MODEL_WEIGHTS

  config = results.arm("fedavg").config
  with build_federation(config, data_dir=results.data_dir) as federation:
    model = federation.build_keras_model()
    model.load_weights(os.path.join(results.path("fedavg"), MODEL_WEIGHTS))
    return fine_tuned_accuracy(
        model, [w.numpy() for w in model.trainable_weights],
        [w.numpy() for w in model.non_trainable_weights], federation.dataset.train,
        {d.id: d.indices for d in federation.devices}, federation.client_test,
        federation.dataset.modality, steps=FINE_TUNE_STEPS, learning_rate=LR,
        batch_size=BATCH)


def _own_model_accuracy(results: Results, key: str) -> Tuple[float, float]:
  """(mean, 10th percentile) over clients of their held-out accuracy under the model each
  would use: its personal one, or FedAvg's global one."""
  columns = results.metrics(key)
  prefix = "personal" if "personal_accuracy_mean" in columns else "client"
  return (last_evaluated(columns[f"{prefix}_accuracy_mean"]),
          last_evaluated(columns[f"{prefix}_accuracy_p10"]))


def _rows(results: Results, tuned: ClientAccuracy) -> List[List[str]]:
  rows = []
  for key, (label, _) in METHODS.items():
    mean, low = _own_model_accuracy(results, key)
    rows.append([label, markdown.percent(results.summary(key).test_accuracy),
                 markdown.percent(mean), markdown.percent(low)])
  rows.insert(1, [FINE_TUNED, "-", markdown.percent(tuned.mean()),
                  markdown.percent(tuned.percentile(10))])
  return rows


def _curves(results: Results) -> str:
  figure, axes = new_figure(2, figsize=(10, 3.6))
  for key, (label, _) in METHODS.items():
    columns = results.metrics(key)
    prefix = "personal" if "personal_accuracy_mean" in columns else "client"
    for axis, statistic in zip(axes, ("mean", "p10")):
      values = columns[f"{prefix}_accuracy_{statistic}"]
      measured = ~np.isnan(values)
      axis.plot(columns["round"][measured], 100 * values[measured], marker="o",
                markersize=3, label=label)
  for axis, title in zip(axes, ("mean over clients", "10th percentile over clients")):
    axis.set_xlabel("round")
    axis.set_ylabel("accuracy on the client's own held-out data (%)")
    axis.set_title(title, fontsize=9)
  axes[0].legend(fontsize=7)
  figure.tight_layout()
  return saved_image(results, figure, "curves.png",
                     "each client's held-out accuracy under the model it would use")


def report(results: Results) -> List[str]:
  tuned = fine_tuned(results)
  return ["## Each client's own held-out data (the final models)",
          markdown.table(["method", "global test accuracy", "clients' mean",
                          "clients' 10th percentile"], _rows(results, tuned)),
          f"Clients' columns: each client scored on its held-out {HOLDOUT:.0%} under the "
          "model it would use (its personal model or head for Ditto and FedPer, the "
          "global model for FedAvg, FedAvg's model after "
          f"{FINE_TUNE_STEPS} local SGD steps for the fine-tuned row). Global test "
          "accuracy: the server's model on MNIST's test split (FedPer's global head "
          "stays as initialized).",
          _curves(results),
          accuracy_histogram(results, {FINE_TUNED: tuned}, "fine-tuned.png",
                             "FedAvg fine-tuned locally: the clients' held-out accuracy")]


def questions(results: Results) -> List[Answer]:
  tuned = fine_tuned(results)
  base_mean, base_low = _own_model_accuracy(results, "fedavg")
  ditto_mean, ditto_low = _own_model_accuracy(results, "ditto-0.1")
  fedper_mean, fedper_low = _own_model_accuracy(results, "fedper")
  return [
      Answer("How much does local fine-tuning of the global model win on each client's "
             "own data?",
             f"Mean over clients {markdown.percent(tuned.mean())} against "
             f"{markdown.percent(base_mean)} for the global model; 10th percentile "
             f"{markdown.percent(tuned.percentile(10))} against "
             f"{markdown.percent(base_low)}.", MEASURED),
      Answer("And Ditto's personal models, and FedPer's personal heads?",
             f"Ditto (lambda 0.1): mean {markdown.percent(ditto_mean)}, 10th percentile "
             f"{markdown.percent(ditto_low)}; FedPer: mean {markdown.percent(fedper_mean)}, "
             f"10th percentile {markdown.percent(fedper_low)}.", MEASURED),
      Answer("What does Ditto's lambda trade?",
             f"Clients' mean: lambda 0.1 {markdown.percent(ditto_mean)}, lambda 1 "
             f"{markdown.percent(_own_model_accuracy(results, 'ditto-1')[0])}; the global "
             f"models: {markdown.percent(results.summary('ditto-0.1').test_accuracy)} and "
             f"{markdown.percent(results.summary('ditto-1').test_accuracy)}.", MEASURED),
  ]


EXPERIMENT = CourseExperiment(
    name="personalization",
    title="Personalization: local fine-tuning, Ditto and FedPer against one global model",
    description=(
        f"MNIST dealt to {CLIENTS} clients as McMahan et al.'s shards ({SHARDS} digits "
        f"each), every client keeping {HOLDOUT:.0%} of its examples as its own test data; "
        f"{int(CLIENTS * CLIENT_FRACTION)} clients a round take {LOCAL_STEPS} SGD steps "
        f"(lr {LR:g}, B = {BATCH}) of the 2NN for {ROUNDS} rounds. Ditto's personal models "
        "and FedPer's heads are kept per client in the run's client-state store. FedBN "
        "(tff_course.algorithms.partial_personal) needs batch normalization, which the "
        "2NN has not; it is not an arm here."),
    duration="est. 6 min, not yet measured; --full: 150 rounds, est. 25 min",
    arms=arms, report=report, questions=questions,
    assignment=(
        "The project's personalization contribution: per-client evaluation on each "
        "client's own held-out data (mean, 10th percentile, histogram), local fine-tuning "
        "after FL, Ditto and FedPer, each keeping personal state per client."))
