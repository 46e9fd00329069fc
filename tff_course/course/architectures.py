"""Which architecture suffers least from heterogeneous clients: a CNN, ResNet-20 with batch
norm and with group norm, and a small ViT, trained by FedAvg on CIFAR-10 dealt IID and by
a Dirichlet(0.1) over labels.

Hsu et al. ("Measuring the Effects of Non-Identical Data Distribution for Federated Visual
Classification", 2019) and Hsieh et al. (2020) find batch norm fragile under label skew
and group norm a remedy; Qu et al. ("Rethinking Architecture Design for Tackling Data
Heterogeneity in Federated Learning", CVPR 2022) find transformers degrade least. Every
arm takes the same rounds, clients and local steps; the batch-norm ResNet's clients send
their moving statistics and the server averages them (train.average_statistics).
"""

from __future__ import annotations

from typing import Dict, List, Tuple

import numpy as np

from tff_course.course import markdown
from tff_course.course.arms import Arm
from tff_course.course.experiment import CourseExperiment
from tff_course.course.figures import new_figure, saved_image
from tff_course.course.questions import MEASURED, SEED_ERRORS, Answer, plus_minus
from tff_course.course.results import Results
from tff_course.course.seed_groups import (accuracy_cell, by_group, group_accuracy,
                                           mean_curve, seed_key)
from tff_course.course.settings import FULL
from tff_course.experiment.config import DataConfig, ExperimentConfig, TrainConfig

DATASET = "cifar10"
CLIENTS = 100
ALPHA = 0.1
MIN_SIZE = 10
CHANCE = 0.1
CLIENT_FRACTION = 0.1
BATCH = 32
LOCAL_STEPS = 5
ROUNDS = 20
FULL_ROUNDS = 200
EVAL_EVERY = 5
FULL_EVAL_EVERY = 10
SEEDS = (0, 1)
FULL_SEEDS = (0, 1, 2)
MODELS: Dict[str, Tuple[str, str, float]] = {
    "cnn": ("CNN (cifar_convnet)", "sgd", 0.05),
    "resnet20-bn": ("ResNet-20, batch norm", "sgd", 0.1),
    "resnet20-gn": ("ResNet-20, group norm", "sgd", 0.1),
    "vit": ("ViT (vit_tiny)", "adam", 0.001),
}
MODEL_NAMES = {"cnn": "cifar_convnet", "resnet20-bn": "resnet20_cifar",
               "resnet20-gn": "resnet20_groupnorm", "vit": "vit_tiny"}
PARTITIONS = {"iid": "IID", "dirichlet": f"Dirichlet({ALPHA:g})"}


def _config(key: str, model: str, partition: str, seed: int, full: bool) -> ExperimentConfig:
  _, optimizer, lr = MODELS[model]
  every = FULL_EVAL_EVERY if full else EVAL_EVERY
  return ExperimentConfig(
      name=key,
      data=DataConfig(dataset=DATASET, partition=partition, num_clients=CLIENTS,
                      alpha=ALPHA if partition == "dirichlet" else None,
                      min_size=MIN_SIZE if partition == "dirichlet" else 1),
      train=TrainConfig(model=MODEL_NAMES[model], client_optimizer=optimizer, client_lr=lr,
                        epochs=None, steps=LOCAL_STEPS, batch_size=BATCH,
                        rounds=FULL_ROUNDS if full else ROUNDS,
                        client_fraction=CLIENT_FRACTION, eval_every=every,
                        checkpoint_every=every, seed=seed))


def arms(setting: str) -> List[Arm]:
  full = setting == FULL
  return [Arm(seed_key(f"{model}-{partition}", seed), f"{label}, {PARTITIONS[partition]}, "
              f"seed {seed}", _config(seed_key(f"{model}-{partition}", seed), model,
                                      partition, seed, full))
          for seed in (FULL_SEEDS if full else SEEDS)
          for partition in PARTITIONS for model, (label, _, _) in MODELS.items()]


def accuracies(results: Results) -> Dict[Tuple[str, str], Tuple[float, float]]:
  """(model, partition) -> mean final test accuracy over seeds and its standard error."""
  groups = by_group(results)
  return {(model, partition): group_accuracy(results, groups[f"{model}-{partition}"])
          for model in MODELS for partition in PARTITIONS
          if f"{model}-{partition}" in groups}


def drop(accuracy, model: str) -> Tuple[float, float]:
  """IID accuracy minus Dirichlet accuracy, and its standard error."""
  (iid, iid_error), (skewed, skewed_error) = (accuracy[(model, "iid")],
                                              accuracy[(model, "dirichlet")])
  return iid - skewed, float(np.hypot(iid_error, skewed_error))


def share_lost(accuracy, model: str) -> float:
  """The share of the IID arm's accuracy above chance that the Dirichlet arm loses (an
  architecture that learned little cannot drop much in points)."""
  iid = accuracy[(model, "iid")][0]
  return drop(accuracy, model)[0] / (iid - CHANCE) if iid > CHANCE else float("nan")


def _bars(results: Results, accuracy) -> str:
  figure, axis = new_figure(figsize=(7, 3.6))
  positions = np.arange(len(MODELS))
  for offset, partition in zip((-0.2, 0.2), PARTITIONS):
    means = [100 * accuracy[(m, partition)][0] for m in MODELS]
    errors = [100 * np.nan_to_num(accuracy[(m, partition)][1]) for m in MODELS]
    axis.bar(positions + offset, means, 0.4, yerr=errors, capsize=3,
             label=PARTITIONS[partition])
  axis.set_xticks(positions, [MODELS[m][0] for m in MODELS], fontsize=7)
  axis.set_ylabel("final test accuracy (%, mean over seeds)")
  axis.legend(fontsize=8)
  figure.tight_layout()
  return saved_image(results, figure, "accuracy.png",
                     "final test accuracy by architecture, IID and Dirichlet")


def _curves(results: Results) -> str:
  figure, axes = new_figure(2, figsize=(10, 3.6))
  groups = by_group(results)
  for axis, partition in zip(axes, PARTITIONS):
    for model, (label, _, _) in MODELS.items():
      rounds, values = mean_curve(results, groups[f"{model}-{partition}"], "round")
      axis.plot(rounds, 100 * values, marker="o", markersize=3, label=label)
    axis.set_title(PARTITIONS[partition], fontsize=9)
    axis.set_xlabel("round")
    axis.set_ylabel("test accuracy (%)")
  axes[0].legend(fontsize=7)
  figure.tight_layout()
  return saved_image(results, figure, "curves.png", "test accuracy against rounds")


def report(results: Results) -> List[str]:
  accuracy = accuracies(results)
  groups = by_group(results)
  rows = []
  for model, (label, optimizer, lr) in MODELS.items():
    gap, error = drop(accuracy, model)
    rows.append([label, f"{optimizer} {lr:g}",
                 accuracy_cell(results, groups[f"{model}-iid"]),
                 accuracy_cell(results, groups[f"{model}-dirichlet"]), plus_minus(gap, error),
                 markdown.percent(share_lost(accuracy, model))])
  return ["## Final test accuracy (mean +- s.e. over seeds)",
          markdown.table(["architecture", "client optimizer, lr", "IID",
                          PARTITIONS["dirichlet"], "drop", "share of IID's gain over "
                          f"chance ({CHANCE:.0%}) lost"], rows),
          "Learning rates are one per architecture, not tuned per partition.",
          _bars(results, accuracy), _curves(results)]


def questions(results: Results) -> List[Answer]:
  accuracy = accuracies(results)
  drops = {model: drop(accuracy, model) for model in MODELS}
  shares = {model: share_lost(accuracy, model) for model in MODELS}
  least = min(shares, key=lambda m: np.nan_to_num(shares[m], nan=np.inf))
  return [
      Answer("Which architecture loses least from IID to Dirichlet(0.1) clients?",
             f"Relative to what it learned: {MODELS[least][0]}, which loses "
             f"{markdown.percent(shares[least])} of its IID gain over chance ("
             + "; ".join(f"{MODELS[m][0]} {markdown.percent(shares[m])}, "
                         f"{plus_minus(*drops[m])}" for m in MODELS) + ").",
             MEASURED),
      Answer("Does group norm hold up better than batch norm under label skew?",
             f"ResNet-20 with group norm drops {plus_minus(*drops['resnet20-gn'])} "
             f"({markdown.percent(shares['resnet20-gn'])} of its gain over chance), with "
             f"batch norm {plus_minus(*drops['resnet20-bn'])} "
             f"({markdown.percent(shares['resnet20-bn'])}).", MEASURED),
      Answer("Does the ViT degrade least, as Qu et al. report?",
             f"The ViT drops {plus_minus(*drops['vit'])}, the CNN "
             f"{plus_minus(*drops['cnn'])} (at this training budget, far below the "
             "paper's).", MEASURED),
  ]


EXPERIMENT = CourseExperiment(
    name="architectures",
    title="Architectures under heterogeneity: CNN, ResNet-20 (batch norm, group norm) and "
          "a small ViT, IID against Dirichlet(0.1)",
    description=(
        f"CIFAR-10 dealt to {CLIENTS} clients IID or by Dirichlet({ALPHA:g}) over labels "
        f"(at least {MIN_SIZE} examples each); FedAvg with "
        f"{int(CLIENTS * CLIENT_FRACTION)} clients a round, {LOCAL_STEPS} local steps of "
        f"{BATCH}, {ROUNDS} rounds, seeds {', '.join(map(str, SEEDS))}: the same budget "
        "for every architecture. The batch-norm ResNet averages its moving statistics."),
    duration="17.8 min measured from a clean clone (alone); --full: 200 rounds, 3 seeds, "
             "est. 4.5 h",
    arms=arms, report=report, questions=questions, errors=SEED_ERRORS,
    assignment=(
        "The project's architectures study: the CNN, ResNet-20 with batch norm and with "
        "group norm, and a small ViT under IID and Dirichlet(0.1) clients, with a results "
        "table and plot (Qu et al. 2022, Hsu et al. 2019)."))
