"""Client selection against uniform sampling on label- and size-skewed MNIST, judged by
test accuracy and by the spread of accuracy over the clients' own held-out examples.

Arms: uniform sampling (K distinct clients); draws proportional to data size (Li et al.,
"On the Convergence of FedAvg on Non-IID Data", ICLR 2020, scheme I); draws by an
availability profile from a Dirichlet (some clients almost always there, most rarely),
averaged as usual (biased towards the available) or with unbiased weights
p_k / (K q_k); and power-of-choice (Cho et al., AISTATS 2022): d candidates drawn by size,
the K of highest local loss train.
"""

from __future__ import annotations

from typing import Dict, List, Tuple

import numpy as np

from tff_course.course import markdown
from tff_course.course.arms import Arm
from tff_course.course.experiment import CourseExperiment
from tff_course.course.figures import new_figure, saved_image
from tff_course.course.questions import MEASURED, SEED_ERRORS, Answer, mean_and_error
from tff_course.course.results import Results, last_evaluated
from tff_course.course.seed_groups import (accuracy_cell, accuracy_gap, by_group,
                                           group_accuracy, method_seed_arms)
from tff_course.course.settings import FULL
from tff_course.experiment.config import DataConfig, ExperimentConfig, TrainConfig

DATASET = "mnist"
MODEL = "mnist_2nn"
CLIENTS = 100
ALPHA = 0.3
HOLDOUT = 0.2
CLIENT_FRACTION = 0.1
LR = 0.05
BATCH = 10
LOCAL_STEPS = 20
ROUNDS = 100
FULL_ROUNDS = 300
EVAL_EVERY = 10
AVAILABILITY_ALPHA = 0.5
CANDIDATES = 30
SEEDS = (0, 1, 2)
FULL_SEEDS = (0, 1, 2, 3, 4)
SPREAD = ("client_accuracy_mean", "client_accuracy_p10")
METHODS: Dict[str, Tuple[str, Dict[str, object]]] = {
    "uniform": ("uniform", {}),
    "size": ("proportional to size", {"selection": "size"}),
    "available": ("Dirichlet availability", {"selection": "dirichlet",
                                             "selection_alpha": AVAILABILITY_ALPHA}),
    "available-unbiased": ("Dirichlet availability, unbiased weights",
                           {"selection": "dirichlet", "selection_alpha": AVAILABILITY_ALPHA,
                            "selection_weights": "unbiased"}),
    "power-of-choice": (f"power-of-choice (d = {CANDIDATES})",
                        {"selection": "size", "power_of_choice": CANDIDATES}),
}


def _config(key: str, method: str, seed: int, rounds: int) -> ExperimentConfig:
  return ExperimentConfig(
      name=key,
      data=DataConfig(dataset=DATASET, partition="dirichlet", num_clients=CLIENTS,
                      alpha=ALPHA, client_holdout=HOLDOUT),
      train=TrainConfig(model=MODEL, client_lr=LR, epochs=None, steps=LOCAL_STEPS,
                        batch_size=BATCH, rounds=rounds, client_fraction=CLIENT_FRACTION,
                        eval_every=EVAL_EVERY, checkpoint_every=EVAL_EVERY, seed=seed,
                        **METHODS[method][1]))


def arms(setting: str) -> List[Arm]:
  full = setting == FULL
  rounds = FULL_ROUNDS if full else ROUNDS
  return method_seed_arms(METHODS, FULL_SEEDS if full else SEEDS,
                          lambda key, method, seed: _config(key, method, seed, rounds))


def spread(results: Results, keys: List[str], column: str) -> Tuple[float, float]:
  """The seeds' mean last evaluated `column` (a per-client accuracy statistic) and its
  standard error."""
  return mean_and_error([last_evaluated(results.metrics(key)[column]) for key in keys])


def _cell(value: Tuple[float, float]) -> str:
  mean, error = value
  return markdown.percent(mean) + ("" if np.isnan(error) else f" +- {100 * error:.2f}")


def _curves(results: Results) -> str:
  figure, axes = new_figure(3, figsize=(13, 3.6))
  columns = ("test_accuracy",) + SPREAD
  titles = ("test accuracy", "mean over clients (own held-out data)",
            "10th percentile over clients")
  for method, keys in by_group(results).items():
    for axis, column in zip(axes, columns):
      rows = [results.metrics(key) for key in keys]
      measured = [~np.isnan(r[column]) for r in rows]
      length = min(int(m.sum()) for m in measured)
      xs = rows[0]["round"][measured[0]][:length]
      ys = np.mean([r[column][m][:length] for r, m in zip(rows, measured)], axis=0)
      axis.plot(xs, 100 * ys, marker="o", markersize=3, label=METHODS[method][0])
  for axis, title in zip(axes, titles):
    axis.set_xlabel("round")
    axis.set_ylabel("accuracy (%, mean over seeds)")
    axis.set_title(title, fontsize=9)
  axes[0].legend(fontsize=7)
  figure.suptitle(f"MNIST, Dirichlet({ALPHA:g}) labels over {CLIENTS} clients: "
                  "who is selected", fontsize=9)
  figure.tight_layout()
  return saved_image(results, figure, "curves.png",
                     "test accuracy and the clients' held-out accuracy against rounds")


def report(results: Results) -> List[str]:
  rows = [[METHODS[method][0], accuracy_cell(results, keys),
           _cell(spread(results, keys, SPREAD[0])), _cell(spread(results, keys, SPREAD[1]))]
          for method, keys in by_group(results).items()]
  return ["## Final accuracy (mean +- s.e. over seeds)",
          markdown.table(["selection", "test accuracy", "clients' mean",
                          "clients' 10th percentile"], rows),
          "Clients' columns: each client scored on its own held-out "
          f"{HOLDOUT:.0%} of its examples, then the mean and the 10th percentile over "
          "clients (every client counts once).",
          _curves(results)]


def questions(results: Results) -> List[Answer]:
  groups = by_group(results)
  accuracy = {method: group_accuracy(results, keys) for method, keys in groups.items()}
  low = {method: spread(results, keys, SPREAD[1])[0] for method, keys in groups.items()}
  return [
      Answer("Does sampling clients in proportion to their data beat uniform sampling?",
             f"Size-proportional draws {accuracy_gap(accuracy, 'size', 'uniform')} in test "
             f"accuracy against uniform sampling.", MEASURED),
      Answer("What does skewed availability cost, and do unbiased weights win it back?",
             f"Averaging whoever is available {accuracy_gap(accuracy, 'available', 'uniform')}"
             f" against uniform; with p_k / (K q_k) weights "
             f"{accuracy_gap(accuracy, 'available-unbiased', 'uniform')}.", MEASURED),
      Answer("Does power-of-choice lift the worst-off clients?",
             f"10th-percentile client accuracy {markdown.percent(low['power-of-choice'])} "
             f"against {markdown.percent(low['uniform'])} under uniform sampling; test "
             f"accuracy {accuracy_gap(accuracy, 'power-of-choice', 'uniform')}.", MEASURED),
  ]


EXPERIMENT = CourseExperiment(
    name="selection",
    title="Client selection: size-proportional, availability-skewed (biased and unbiased) "
          "and power-of-choice against uniform sampling",
    description=(
        f"MNIST dealt to {CLIENTS} clients by a Dirichlet({ALPHA:g}) over labels, each "
        f"keeping {HOLDOUT:.0%} of its examples as its own test data; "
        f"{int(CLIENTS * CLIENT_FRACTION)} clients a round take {LOCAL_STEPS} SGD steps "
        f"(lr {LR:g}, B = {BATCH}) of the 2NN for {ROUNDS} rounds, seeds "
        f"{', '.join(map(str, SEEDS))}. Availability: probabilities drawn once from "
        f"Dirichlet({AVAILABILITY_ALPHA:g}); power-of-choice compares {CANDIDATES} "
        "candidates' losses on their own training data."),
    duration="12.0 min measured (3 seeds, 100 rounds) while the test suite shared the "
             "machine; --full: 300 rounds, 5 seeds, est. 35 min",
    arms=arms, report=report, questions=questions, errors=SEED_ERRORS,
    assignment=(
        "The project's client-selection contribution: non-uniform probabilities (given, by "
        "size, or drawn to model availability), unbiased aggregation weights and "
        "power-of-choice, measured against uniform sampling on accuracy and on the spread "
        "of per-client accuracy."))
