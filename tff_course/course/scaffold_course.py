"""SCAFFOLD against FedAvg and FedProx where client drift is worst: MNIST split into
McMahan et al.'s pathological shards (every client holds two digits), many local steps.

Karimireddy et al. (2020) show FedAvg's local steps drift towards each client's own
optimum when clients differ, and SCAFFOLD's control variates correct the drift. Every arm
takes the same local SGD steps (same rate, batch and J) on the same sampled clients; they
differ only in the correction: none (FedAvg), FedProx's proximal pull, or SCAFFOLD's
controls (options I and II), each client's kept across rounds in the run's
client-state store.
"""

from __future__ import annotations

from typing import Dict, List, Tuple

import numpy as np

from tff_course.course import markdown
from tff_course.course.arms import Arm
from tff_course.course.experiment import CourseExperiment
from tff_course.course.figures import new_figure, saved_image
from tff_course.course.questions import MEASURED, SEED_ERRORS, Answer
from tff_course.course.results import Results
from tff_course.course.seed_groups import (accuracy_cell, accuracy_gap, by_group,
                                           group_accuracy, mean_curve, method_seed_arms)
from tff_course.course.settings import FULL
from tff_course.experiment.config import DataConfig, ExperimentConfig, TrainConfig

DATASET = "mnist"
MODEL = "mnist_2nn"
CLIENTS = 100
CLIENT_FRACTION = 0.1
LR = 0.05
BATCH = 10
LOCAL_STEPS = 50
ROUNDS = 50
FULL_ROUNDS = 200
EVAL_EVERY = 5
MU = 0.1
SEEDS = (0, 1)
FULL_SEEDS = (0, 1, 2)
METHODS: Dict[str, Tuple[str, Dict[str, object]]] = {
    "fedavg": ("FedAvg", {"algorithm": "fedavg"}),
    "fedprox": (f"FedProx (mu = {MU:g})", {"algorithm": "fedprox", "mu": MU}),
    "scaffold-ii": ("SCAFFOLD, option II", {"algorithm": "scaffold", "scaffold_option": "II"}),
    "scaffold-i": ("SCAFFOLD, option I", {"algorithm": "scaffold", "scaffold_option": "I"}),
}


def _config(key: str, method: str, seed: int, rounds: int) -> ExperimentConfig:
  return ExperimentConfig(
      name=key,
      data=DataConfig(dataset=DATASET, partition="shards", num_clients=CLIENTS,
                      shards_per_client=2),
      train=TrainConfig(model=MODEL, client_lr=LR, epochs=None, steps=LOCAL_STEPS,
                        batch_size=BATCH, rounds=rounds, client_fraction=CLIENT_FRACTION,
                        eval_every=EVAL_EVERY, checkpoint_every=EVAL_EVERY, seed=seed,
                        **METHODS[method][1]))


def arms(setting: str) -> List[Arm]:
  full = setting == FULL
  rounds = FULL_ROUNDS if full else ROUNDS
  return method_seed_arms(METHODS, FULL_SEEDS if full else SEEDS,
                          lambda key, method, seed: _config(key, method, seed, rounds))


def _accuracy(results: Results) -> Dict[str, Tuple[float, float]]:
  return {method: group_accuracy(results, keys) for method, keys in by_group(results).items()}


def _curves(results: Results) -> str:
  figure, axes = new_figure(2, figsize=(10, 3.6))
  for method, keys in by_group(results).items():
    label = METHODS[method][0]
    for axis, x, scale in zip(axes, ("round", "uploaded"), (1, 2**20)):
      xs, accuracy = mean_curve(results, keys, x)
      axis.plot(xs / scale, 100 * accuracy, marker="o", markersize=3, label=label)
  axes[0].set_xlabel("round")
  axes[1].set_xlabel("MiB uploaded by the clients (SCAFFOLD sends its control too)")
  for axis in axes:
    axis.set_ylabel("test accuracy (%, mean over seeds)")
    axis.legend(fontsize=8)
  figure.suptitle("MNIST, two digits per client: drift corrections", fontsize=9)
  figure.tight_layout()
  return saved_image(results, figure, "curves.png",
                     "test accuracy against rounds and against bytes uploaded")


def report(results: Results) -> List[str]:
  groups = by_group(results)
  rows = [[METHODS[method][0], accuracy_cell(results, keys),
           markdown.megabytes(np.mean([results.summary(k).bytes_up or 0 for k in keys]))]
          for method, keys in groups.items()]
  return ["## Final test accuracy (mean +- s.e. over seeds)",
          markdown.table(["method", "test accuracy", "uploaded per run"], rows),
          _curves(results)]


def questions(results: Results) -> List[Answer]:
  accuracy = _accuracy(results)
  best = max(accuracy, key=lambda method: np.nan_to_num(accuracy[method][0], nan=-1.0))
  return [
      Answer("Does SCAFFOLD beat FedAvg when every client holds two digits?",
             f"SCAFFOLD (option II) {accuracy_gap(accuracy, 'scaffold-ii', 'fedavg')} "
             f"against FedAvg ({markdown.percent(accuracy['scaffold-ii'][0])} vs "
             f"{markdown.percent(accuracy['fedavg'][0])}).", MEASURED),
      Answer("And FedProx, which only pulls clients back towards the server model?",
             f"FedProx {accuracy_gap(accuracy, 'fedprox', 'fedavg')} against FedAvg; "
             f"SCAFFOLD II {accuracy_gap(accuracy, 'scaffold-ii', 'fedprox')} against "
             f"FedProx.", MEASURED),
      Answer("Option I (a control from a fresh gradient at the server model) or option II "
             "(from the client's own steps)?",
             f"Option I {accuracy_gap(accuracy, 'scaffold-i', 'scaffold-ii')} against "
             f"option II; best overall: {METHODS[best][0]}.", MEASURED),
  ]


EXPERIMENT = CourseExperiment(
    name="scaffold",
    title="SCAFFOLD against FedAvg and FedProx on pathologically non-IID MNIST",
    description=(
        f"MNIST dealt to {CLIENTS} clients as McMahan et al.'s shards (two digits each); "
        f"{int(CLIENTS * CLIENT_FRACTION)} clients a round take {LOCAL_STEPS} local SGD "
        f"steps (lr {LR:g}, B = {BATCH}) of the 2NN; FedAvg, FedProx (mu {MU:g}) and "
        f"SCAFFOLD (options I and II) for {ROUNDS} rounds, seeds "
        f"{', '.join(map(str, SEEDS))}. "
        "SCAFFOLD's clients keep their control variates in the run's client-state store, "
        "so the experiment resumes exactly."),
    duration="8.6 min measured (2 seeds, 50 rounds); --full: 200 rounds, 3 seeds, est. 1 h",
    arms=arms, report=report, questions=questions, errors=SEED_ERRORS,
    assignment=(
        "The project asks for SCAFFOLD against FedAvg and FedProx on a strongly non-IID "
        "setting; here the pathological MNIST shards with many local steps, where client "
        "drift is largest. The paper's EMNIST similarity sweep is not run."))
