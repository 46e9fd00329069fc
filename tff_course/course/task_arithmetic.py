"""Task arithmetic of federated fine-tuning: two tasks fine-tuned dense and sparse from the
same pre-trained ResNet-20, their task vectors merged into one backbone.

Each task (MNIST, Fashion-MNIST, both 32x32 colour) gets its own head on the frozen
backbone, then sparse FedAvg fine-tunes the backbone: with every eligible weight open
(dense) or under TaLoS's least-sensitive masks of density 0.1. The two task vectors are
added to the pre-trained backbone with one alpha chosen on the first VALIDATION_EXAMPLES
of each test split (mean normalized accuracy), and the merge is measured on the second
half of the split, each task
with its own head (Ilharco et al. 2023; TaLoS's claim: sparse task vectors interfere less).
"""

from __future__ import annotations

import os
from typing import Dict, List, Tuple

import numpy as np

from tff_course.course import markdown
from tff_course.course.arms import Arm
from tff_course.course.experiment import CourseExperiment
from tff_course.course.figures import new_figure, saved_image
from tff_course.course.finetune_configs import LR, federated_config, preparation
from tff_course.course.preparation import PREPARED_DIR
from tff_course.course.questions import (MEASURED, SEED_ERRORS, Answer, accuracy_standard_error,
                                         mean_and_error, plus_minus, sign_verdict)
from tff_course.course.results import Results
from tff_course.course.seed_groups import seed_key
from tff_course.course.settings import FULL
from tff_course.sparse.prepare import INIT_WEIGHTS
from tff_course.sparse.task_vectors import ALPHA_GRID

TASKS = {"mnist": "mnist_rgb32", "fashion": "fashion_mnist_rgb32"}
MODES = {"dense": dict(rule="random", density=1.0, rounds=1),
         "sparse": dict(rule="least_sensitive", density=0.1, rounds=4)}
ROUNDS = 15
FULL_ROUNDS = 100
SEEDS = (0, 1)
FULL_SEEDS = (0, 1, 2)
GRID = ALPHA_GRID
VALIDATION_EXAMPLES = 1000
TALOS = ("TaLoS (Iurada et al., ICLR 2025): sparse task vectors from least-sensitive "
         "masks interfere less, so their merge keeps more of each task's accuracy than "
         "the merge of dense task vectors")


def _key(task: str, mode: str, seed: int) -> str:
  return seed_key(f"{task}-{mode}", seed)


def arms(setting: str) -> List[Arm]:
  full = setting == FULL
  rounds = FULL_ROUNDS if full else ROUNDS
  planned = []
  for seed in FULL_SEEDS if full else SEEDS:
    for task, dataset in TASKS.items():
      for mode, calibration in MODES.items():
        key = _key(task, mode, seed)
        prepared = preparation(key, dataset, seed=seed, **calibration)
        planned.append(Arm(key, f"{task}, {mode}, seed {seed}",
                           federated_config(key, prepared, rounds=rounds, seed=seed,
                                           eval_every=rounds),
                           preparation=prepared))
  return planned


def seeds_of(results: Results) -> List[int]:
  return sorted({arm.config.train.seed for arm in results.arms})


_MERGES: Dict[tuple, Dict[tuple, object]] = {}


def merged(results: Results) -> Dict[tuple, object]:
  """(mode, seed) -> MergeResult of the two tasks' runs; computed once for the runs'
  final weights as they are (the report and the answers share it)."""
  from tff_course.experiment.records import MODEL_WEIGHTS

  stamp = (results.run_dir,) + tuple(
      os.path.getmtime(os.path.join(results.path(arm.key), MODEL_WEIGHTS))
      for arm in results.arms)
  if stamp not in _MERGES:
    _MERGES[stamp] = {(mode, seed): _merge(results, mode, seed)
                      for mode in MODES for seed in seeds_of(results)}
  return _MERGES[stamp]


def by_mode(results: Results) -> Dict[str, List[object]]:
  """Mode -> its MergeResults, one per seed."""
  grouped: Dict[str, List[object]] = {}
  for (mode, _), result in merged(results).items():
    grouped.setdefault(mode, []).append(result)
  return grouped


def _merge(results: Results, mode: str, seed: int):
  from tff_course.data.pipeline import model_inputs
  from tff_course.experiment.federation import load_config_dataset
  from tff_course.experiment.records import MODEL_WEIGHTS
  from tff_course.models import build_model
  from tff_course.sparse.finetune import accuracy
  from tff_course.sparse.mask_set import variable_key
  from tff_course.sparse.merging import TaskModels, merge_tasks
  from tff_course.sparse.task_vectors import model_weights, set_model_weights

  tasks, head_keys = [], []
  model = None
  for task in TASKS:
    arm = results.arm(_key(task, mode, seed))
    dataset = load_config_dataset(arm.config, results.data_dir)
    model = build_model(arm.config.train.model, dataset.train.x.shape[1:],
                        dataset.num_classes)
    keys = [variable_key(v) for v in model.weights]
    head_keys = [variable_key(v) for v in model.layers[-1].weights]
    model.load_weights(os.path.join(results.run_dir, PREPARED_DIR, arm.key, INIT_WEIGHTS))
    pretrained = model_weights(model, keys)
    model.load_weights(os.path.join(results.path(arm.key), MODEL_WEIGHTS))
    finetuned = model_weights(model, keys)
    inputs = model_inputs(dataset.test.x, dataset.modality)
    half = len(inputs) // 2
    tasks.append(TaskModels(task, pretrained, finetuned,
                            (inputs[:min(VALIDATION_EXAMPLES, half)],
                             dataset.test.y[:min(VALIDATION_EXAMPLES, half)]),
                            (inputs[half:], dataset.test.y[half:])))

  def accuracy_of(weights, images, labels):
    set_model_weights(model, weights)
    return accuracy(model, images, labels)

  return merge_tasks(tasks, head_keys, accuracy_of, GRID)


def _mean(values) -> float:
  return float(np.mean(list(values)))


def report(results: Results) -> List[str]:
  rows = []
  for mode, seeded in by_mode(results).items():
    for task in TASKS:
      rows.append([mode, task] + [
          markdown.percent(_mean(getattr(r, field)[task] for r in seeded))
          for field in ("pretrained", "finetuned", "merged")] +
          [", ".join(f"{r.alpha:g}" for r in seeded)])
  curves = _alpha_figure(results)
  cosines = ", ".join(f"{mode} {_mean(r.cosine[0, 1] for r in seeded):+.3f}"
                      for mode, seeded in by_mode(results).items())
  seeds = len(seeds_of(results))
  return [f"## Merged against fine-tuned (second half of each test split; mean of {seeds} "
          f"seed{'s' if seeds > 1 else ''})",
          markdown.table(["task vectors", "task", "pre-trained + head", "fine-tuned",
                          "merged", "alpha (each seed)"], rows),
          f"Cosine similarity of the two tasks' vectors: {cosines}.",
          f"## Choosing alpha (first {VALIDATION_EXAMPLES:,} examples of each test split, "
          "first seed)", curves]


def _alpha_figure(results: Results) -> str:
  figure, axis = new_figure()
  first = seeds_of(results)[0]
  for (mode, seed), result in merged(results).items():
    if seed != first:
      continue
    alphas, scores = zip(*result.curve)
    axis.plot(alphas, scores, marker="o", label=f"{mode} (alpha {result.alpha:g})")
  axis.set_xlabel("alpha")
  axis.set_ylabel("mean normalized accuracy")
  axis.set_title("Merging MNIST and Fashion-MNIST task vectors", fontsize=9)
  axis.legend(fontsize=8)
  figure.tight_layout()
  return saved_image(results, figure, "alpha.png",
                     "normalized accuracy of the merge against alpha")


def normalized_gap(results: Results) -> Tuple[float, float]:
  """Sparse minus dense normalized accuracy of the merge, and its standard error: over
  seeds, or (one seed) the binomial error of half of each test split."""
  grouped = by_mode(results)
  gaps = [sparse.normalized - dense.normalized
          for dense, sparse in zip(grouped["dense"], grouped["sparse"])]
  if len(gaps) > 1:
    return mean_and_error(gaps)
  dense, sparse = grouped["dense"][0], grouped["sparse"][0]
  examples = min(results.test_size(arm.key) for arm in results.arms) // 2
  return gaps[0], float(np.hypot(accuracy_standard_error(sparse.normalized, examples),
                                 accuracy_standard_error(dense.normalized, examples)))


def questions(results: Results) -> List[Answer]:
  grouped = by_mode(results)
  normalized = {mode: _mean(r.normalized for r in seeded) for mode, seeded in grouped.items()}
  gap, error = normalized_gap(results)
  joint = {mode: _mean(_mean(r.merged.values()) for r in seeded)
           for mode, seeded in grouped.items()}
  cosine = {mode: _mean(r.cosine[0, 1] for r in seeded) for mode, seeded in grouped.items()}
  alphas = {mode: ", ".join(f"{r.alpha:g}" for r in seeded) for mode, seeded in grouped.items()}
  return [
      Answer("Do sparse task vectors merge with less interference than dense ones?",
             f"Normalized accuracy of the merge: sparse {normalized['sparse']:.3f}, dense "
             f"{normalized['dense']:.3f} ({plus_minus(gap, error)}).",
             sign_verdict(gap, error), TALOS),
      Answer("What joint accuracy does one merged backbone reach on both tasks?",
             f"Dense {markdown.percent(joint['dense'])}, sparse "
             f"{markdown.percent(joint['sparse'])} (mean over the two tasks, each with its "
             f"own head; alpha {alphas['dense']} and {alphas['sparse']}).", MEASURED),
      Answer("How similar are the two tasks' vectors?",
             f"Cosine similarity {cosine['dense']:+.3f} (dense), "
             f"{cosine['sparse']:+.3f} (sparse).", MEASURED),
  ]


EXPERIMENT = CourseExperiment(
    name="task-arithmetic",
    title="Task arithmetic of federated fine-tuning: MNIST + Fashion-MNIST, dense against "
          "sparse task vectors",
    description=(
        "From the published ResNet-20 (CIFAR-10), each task gets a head on frozen features; "
        "sparse FedAvg (100 IID clients, 10 a round, J = 4 steps of B = 32, SGDM lr "
        f"{LR:g}) fine-tunes every eligible weight (dense) or TaLoS's least-sensitive "
        "10 %. The two task vectors are merged into one backbone with alpha chosen from 21 "
        f"values in [0, 1] on the first {VALIDATION_EXAMPLES:,} examples of each test split; "
        f"its second half measures it. {ROUNDS} rounds, measured at the end."),
    duration="26 min measured (2 seeds) from a clean clone, short unit tests beside it; "
             "--full: 3 seeds, 100 rounds, est. 1.8 h",
    arms=arms, report=report, questions=questions, errors=SEED_ERRORS,
    assignment=(
        "The course project merges DINO ViT-S/16 task vectors of CIFAR-100 clients; here "
        "two real tasks (MNIST, Fashion-MNIST) on the pre-trained ResNet-20, sized for 2 "
        "cores, 2 seeds. Alpha is chosen on test examples the merge is not measured on, "
        "because every training example "
        "belongs to a client."))
