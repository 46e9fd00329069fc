"""FedAvg fine-tuning under label skew: IID clients, then clients holding Nc classes each,
crossed with J local steps, rounds scaled so that rounds x J is constant; and the
clients' task vectors, whose disagreement shows why skew hurts.

Every arm fine-tunes every eligible weight of the pre-trained ResNet-20 (with a head for
Fashion-MNIST) with K = 100 clients, C = 0.1, B = 32 and plain local SGD (McMahan et al.'s
FedAvg; with momentum 0.9 at the same rate, clients holding one class diverged by round
7), so the arms differ only in the partition and in how the same number of local steps is
cut into rounds. The report
then fine-tunes a few clients of each partition from the common start for J steps and
compares their task vectors (cosine similarity, and how much of their length survives
the average).
"""

from __future__ import annotations

import dataclasses
import os
from typing import Dict, List, Optional, Tuple

import numpy as np

from tff_course.course import markdown
from tff_course.course.arms import Arm
from tff_course.course.experiment import CourseExperiment
from tff_course.course.figures import new_figure, saved_image
from tff_course.course.finetune_configs import BATCH, LR, dense_preparation, federated_config
from tff_course.course.questions import MEASURED, SEED_ERRORS, Answer, plus_minus
from tff_course.course.results import Results
from tff_course.course.seed_groups import accuracy_cell, by_group, group_accuracy, seed_key
from tff_course.course.settings import FULL

DATASET = "fashion_mnist_rgb32"
PARTITIONS: Dict[str, Optional[int]] = {"iid": None, "nc5": 5, "nc2": 2, "nc1": 1}
DEFAULT_PARTITIONS = ("iid", "nc5", "nc1")
LOCAL_STEPS = (4, 8, 16)
STEP_BUDGET = 32
FULL_STEP_BUDGET = 400
SEEDS = (0, 1)
FULL_SEEDS = (0, 1, 2)
CLIENT_MOMENTUM = 0.0
VECTOR_CLIENTS = 8
VECTOR_STEPS = 16


def partition_label(name: str) -> str:
  return "IID" if PARTITIONS[name] is None else f"Nc = {PARTITIONS[name]}"


def _key(partition: str, steps: int, seed: int) -> str:
  return seed_key(f"{partition}-j{steps}", seed)


def arms(setting: str) -> List[Arm]:
  full = setting == FULL
  budget = FULL_STEP_BUDGET if full else STEP_BUDGET
  names = list(PARTITIONS) if full else [p for p in DEFAULT_PARTITIONS if p in PARTITIONS]
  planned = []
  for seed in FULL_SEEDS if full else SEEDS:
    prepared = dense_preparation(seed_key("dense", seed), DATASET, seed)
    for partition in names:
      classes = PARTITIONS[partition]
      for steps in LOCAL_STEPS:
        key = _key(partition, steps, seed)
        rounds = budget // steps
        config = federated_config(
            key, prepared, rounds=rounds, seed=seed, steps=steps,
            partition="iid" if classes is None else "classes", classes_per_client=classes,
            eval_every=rounds, momentum=CLIENT_MOMENTUM)
        planned.append(Arm(key, f"{partition_label(partition)}, J = {steps}, seed {seed}",
                           config, rounds_per_round=max(LOCAL_STEPS) // steps,
                           preparation=prepared))
  return planned


def _partition_and_steps(group: str) -> Tuple[str, int]:
  """"nc2-j8" -> ("nc2", 8)."""
  partition, steps = group.rsplit("-j", 1)
  return partition, int(steps)


def partitions_run(results: Results) -> List[str]:
  """The partitions that have arms in `results`, in PARTITIONS order."""
  groups = by_group(results)
  return [p for p in PARTITIONS if f"{p}-j{LOCAL_STEPS[0]}" in groups]


def accuracy_grid(results: Results) -> Dict[Tuple[str, int], Tuple[float, float]]:
  """(partition, J) -> mean final test accuracy over seeds and its standard error."""
  return {_partition_and_steps(group): group_accuracy(results, keys)
          for group, keys in by_group(results).items()}


@dataclasses.dataclass(frozen=True)
class Agreement:
  """How a partition's clients' task vectors agree: their cosine matrix, and the length
  of their mean over their mean length (`client_vectors.mean_vector_norm_ratio`)."""

  cosines: np.ndarray
  kept: float


_VECTORS: Dict[tuple, Dict[str, Agreement]] = {}


def client_agreement(results: Results) -> Dict[str, Agreement]:
  """Partition -> the agreement of VECTOR_CLIENTS clients' task vectors, each fine-tuned
  VECTOR_STEPS steps from the first seed's start; computed once per start."""
  start_file = results.arms[0].config.train.init_weights
  stamp = (results.run_dir, os.path.getmtime(start_file))
  if stamp not in _VECTORS:
    _VECTORS[stamp] = _client_agreement(results, start_file)
  return _VECTORS[stamp]


def _client_agreement(results: Results, start_file: str) -> Dict[str, Agreement]:
  from tff_course.data.pipeline import model_inputs
  from tff_course.experiment.federation import build_federation
  from tff_course.models import build_model
  from tff_course.sparse.client_vectors import (client_task_vectors, mean_vector_norm_ratio,
                                                pairwise_cosines)
  from tff_course.sparse.finetune import FinetuneSettings
  from tff_course.sparse.mask_set import load_masks
  from tff_course.sparse.sgdm_step import SGDMSettings
  from tff_course.sparse.task_vectors import model_weights

  settings = FinetuneSettings(steps=VECTOR_STEPS, batch_size=BATCH, learning_rate=LR,
                              schedule="constant", sgdm=SGDMSettings(momentum=CLIENT_MOMENTUM))
  agreement = {}
  seed = results.arms[0].config.train.seed
  for partition in partitions_run(results):
    arm = results.arm(_key(partition, LOCAL_STEPS[0], seed))
    with build_federation(arm.config, data_dir=results.data_dir) as federation:
      dataset = federation.dataset
      clients = [(model_inputs(dataset.train.x[device.indices], dataset.modality),
                  dataset.train.y[device.indices])
                  for device in federation.devices[:VECTOR_CLIENTS]]
    model = build_model(arm.config.train.model, dataset.train.x.shape[1:],
                        dataset.num_classes)
    model.load_weights(start_file)
    masks = load_masks(arm.config.train.masks)
    start = model_weights(model, list(masks))
    vectors = client_task_vectors(model, start, masks, clients, settings)
    agreement[partition] = Agreement(pairwise_cosines(vectors), mean_vector_norm_ratio(vectors))
  return agreement


def report(results: Results) -> List[str]:
  from tff_course.sparse.client_vectors import mean_off_diagonal

  grid = accuracy_grid(results)
  groups = by_group(results)
  rows = [[partition_label(partition)] + [
      accuracy_cell(results, groups[f"{partition}-j{steps}"]) for steps in LOCAL_STEPS]
      for partition in partitions_run(results)]
  agreement = client_agreement(results)
  rows_agreement = [[partition_label(p), f"{mean_off_diagonal(a.cosines):+.3f}",
                     f"{float(np.min(a.cosines)):+.3f}", f"{a.kept:.3f}"]
                    for p, a in agreement.items()]
  budget = results.arms[0].config.train.rounds * results.arms[0].config.train.steps
  return [
      f"## Final test accuracy (mean +- s.e. over seeds), rounds x J = {budget}",
      markdown.table(["partition"] + [f"J = {steps}" for steps in LOCAL_STEPS], rows),
      _grid_figure(results, grid),
      f"## Clients' task vectors ({VECTOR_CLIENTS} clients, {VECTOR_STEPS} steps each "
      "from the start model)",
      markdown.table(["partition", "mean pairwise cosine", "lowest",
                      "length of the mean / mean length"], rows_agreement),
      f"(1 when the clients agree; 1/sqrt({VECTOR_CLIENTS}) = "
      f"{1 / np.sqrt(VECTOR_CLIENTS):.3f} when they are orthogonal: the share of their steps "
      "that survives FedAvg's average.)",
      _cosine_figure(results, {p: a.cosines for p, a in agreement.items()})]


def _grid_figure(results: Results, grid) -> str:
  figure, axis = new_figure()
  for partition in partitions_run(results):
    means = [100 * grid[(partition, steps)][0] for steps in LOCAL_STEPS]
    errors = [100 * np.nan_to_num(grid[(partition, steps)][1]) for steps in LOCAL_STEPS]
    axis.errorbar(LOCAL_STEPS, means, yerr=errors, marker="o", capsize=3,
                  label=partition_label(partition))
  axis.set_xscale("log", base=2)
  axis.set_xticks(LOCAL_STEPS, [str(steps) for steps in LOCAL_STEPS])
  axis.set_xlabel("local steps J (rounds = budget / J)")
  axis.set_ylabel("final test accuracy (%)")
  axis.set_title("FedAvg fine-tuning on Fashion-MNIST: label skew x local steps", fontsize=9)
  axis.legend(fontsize=8)
  figure.tight_layout()
  return saved_image(results, figure, "accuracy-grid.png",
                     "final test accuracy against J, one line per partition")


def _cosine_figure(results: Results, cosines: Dict[str, np.ndarray]) -> str:
  figure, axes = new_figure(len(cosines), figsize=(3 * len(cosines), 3.2))
  for axis, (partition, matrix) in zip(np.atleast_1d(axes), cosines.items()):
    shown = axis.imshow(matrix, vmin=-1, vmax=1, cmap="RdBu")
    axis.set_title(partition_label(partition), fontsize=9)
    axis.set_xticks([])
    axis.set_yticks([])
  figure.colorbar(shown, ax=list(np.atleast_1d(axes)), shrink=0.8, label="cosine")
  return saved_image(results, figure, "client-cosines.png",
                     "cosine similarity of the clients' task vectors, by partition")


def questions(results: Results) -> List[Answer]:
  from tff_course.sparse.client_vectors import mean_off_diagonal

  grid = accuracy_grid(results)
  partitions = partitions_run(results)
  anchor = (partitions[0], LOCAL_STEPS[0])
  skewed = (partitions[-1], LOCAL_STEPS[0])
  drop = grid[skewed][0] - grid[anchor][0]
  drop_error = float(np.hypot(grid[skewed][1], grid[anchor][1]))
  best_steps = {partition: max(LOCAL_STEPS, key=lambda steps: np.nan_to_num(
      grid[(partition, steps)][0], nan=-1.0)) for partition in partitions}
  agreement = client_agreement(results)
  cosines = {p: mean_off_diagonal(a.cosines) for p, a in agreement.items()}
  return [
      Answer(f"What does label skew cost FedAvg at J = {LOCAL_STEPS[0]}?",
             f"{partition_label(skewed[0])}: {plus_minus(drop, drop_error)} against IID "
             f"({markdown.percent(grid[skewed][0])} vs {markdown.percent(grid[anchor][0])})."
             if np.isfinite(drop) else f"{partition_label(skewed[0])} diverged (IID: "
             f"{markdown.percent(grid[anchor][0])}).", MEASURED),
      Answer("At a fixed budget of local steps, do fewer longer rounds help or hurt?",
             "Best J per partition: " + ", ".join(
                 f"{partition_label(p)} J = {steps}" for p, steps in best_steps.items()) +
             ".", MEASURED),
      Answer("Do skewed clients' task vectors interfere?",
             "Mean pairwise cosine of the clients' vectors: " + ", ".join(
                 f"{partition_label(p)} {value:+.3f}" for p, value in cosines.items()) +
             "; length of their mean over their mean length: " + ", ".join(
                 f"{partition_label(p)} {a.kept:.3f}" for p, a in agreement.items()) + ".",
             MEASURED),
  ]


EXPERIMENT = CourseExperiment(
    name="label-skew",
    title="FedAvg fine-tuning under label skew: IID and Nc classes per client x J local "
          "steps (ResNet-20 -> Fashion-MNIST)",
    description=(
        "The published ResNet-20 for CIFAR-10 with a head for Fashion-MNIST trained on its "
        "frozen features; FedAvg with K = 100 clients, C = 0.1, B = 32 and local SGD (lr "
        f"{LR:g}, momentum {CLIENT_MOMENTUM:g}) fine-tunes every eligible weight. Clients are "
        "IID or hold Nc in {5, 1} of the 10 classes ({5, 2, 1} with --full); J in "
        f"{set(LOCAL_STEPS)} local steps "
        f"with rounds = {STEP_BUDGET} / J, so every arm takes the same number of steps. "
        f"{VECTOR_CLIENTS} clients of each partition then fine-tune {VECTOR_STEPS} steps "
        "from the start and their task vectors are compared."),
    duration="24 min measured from a clean clone with nothing else running; --full: Nc "
             "in {5, 2, 1}, rounds x J = 400, 3 seeds, est. 6 h",
    arms=arms, report=report, questions=questions, errors=SEED_ERRORS,
    assignment=(
        "The course project uses DINO ViT-S/16 on CIFAR-100 with Nc in {1, 5, 10, 50} of "
        "100 classes; scaled to Fashion-MNIST's 10 classes that is Nc in {1, 2, 5} and IID "
        "(all 10), here on the real pre-trained ResNet-20, sized for 2 cores: the default "
        "runs IID, Nc = 5 and Nc = 1, --full adds Nc = 2."))
