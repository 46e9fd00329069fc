"""Task arithmetic of federated fine-tuning: two tasks fine-tuned dense and sparse from the
same pre-trained ResNet-20, their task vectors merged into one backbone.

Each task (MNIST, Fashion-MNIST, both 32x32 colour) gets its own head on the frozen
backbone, then sparse FedAvg fine-tunes the backbone: with every eligible weight open
(dense) or under TaLoS's least-sensitive masks of density 0.1. The two task vectors are
added to the pre-trained backbone with one alpha chosen on the first half of each test
split (mean normalized accuracy), and the merge is measured on the second half, each task
with its own head (Ilharco et al. 2023; TaLoS's claim: sparse task vectors interfere less).
"""

from __future__ import annotations

import os
from typing import Dict, List

import numpy as np

from tff_course.course import markdown
from tff_course.course.arms import Arm
from tff_course.course.experiment import CourseExperiment
from tff_course.course.figures import new_figure, saved_image
from tff_course.course.finetune_configs import LR, federated_config, preparation
from tff_course.course.preparation import PREPARED_DIR
from tff_course.course.questions import (MEASURED, Answer, accuracy_standard_error,
                                         plus_minus, sign_verdict)
from tff_course.course.results import Results
from tff_course.course.settings import FULL
from tff_course.sparse.prepare import INIT_WEIGHTS
from tff_course.sparse.task_vectors import ALPHA_GRID

TASKS = {"mnist": "mnist_rgb32", "fashion": "fashion_mnist_rgb32"}
MODES = {"dense": dict(rule="random", density=1.0, rounds=1),
         "sparse": dict(rule="least_sensitive", density=0.1, rounds=4)}
ROUNDS = 30
FULL_ROUNDS = 100
GRID = ALPHA_GRID
TALOS = ("TaLoS (Iurada et al., ICLR 2025): sparse task vectors from least-sensitive "
         "masks interfere less, so their merge keeps more of each task's accuracy than "
         "the merge of dense task vectors")


def _key(task: str, mode: str) -> str:
  return f"{task}-{mode}"


def arms(setting: str) -> List[Arm]:
  rounds = FULL_ROUNDS if setting == FULL else ROUNDS
  planned = []
  for task, dataset in TASKS.items():
    for mode, calibration in MODES.items():
      key = _key(task, mode)
      prepared = preparation(key, dataset, **calibration)
      planned.append(Arm(key, f"{task}, {mode}", federated_config(key, prepared, rounds=rounds),
                         preparation=prepared))
  return planned


_MERGES: Dict[tuple, Dict[str, object]] = {}


def merged(results: Results) -> Dict[str, object]:
  """Mode -> MergeResult of the two tasks' runs; computed once for the runs' final
  weights as they are (the report and the answers share it)."""
  from tff_course.experiment.records import MODEL_WEIGHTS

  stamp = (results.run_dir,) + tuple(
      os.path.getmtime(os.path.join(results.path(arm.key), MODEL_WEIGHTS))
      for arm in results.arms)
  if stamp not in _MERGES:
    _MERGES[stamp] = {mode: _merge(results, mode) for mode in MODES}
  return _MERGES[stamp]


def _merge(results: Results, mode: str):
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
    arm = results.arm(_key(task, mode))
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
                            (inputs[:half], dataset.test.y[:half]),
                            (inputs[half:], dataset.test.y[half:])))

  def accuracy_of(weights, images, labels):
    set_model_weights(model, weights)
    return accuracy(model, images, labels)

  return merge_tasks(tasks, head_keys, accuracy_of, GRID)


def report(results: Results) -> List[str]:
  rows = []
  for mode, result in merged(results).items():
    for task in TASKS:
      rows.append([mode, task, markdown.percent(result.pretrained[task]),
                   markdown.percent(result.finetuned[task]),
                   markdown.percent(result.merged[task]), f"{result.alpha:g}"])
  curves = _alpha_figure(results)
  cosines = ", ".join(f"{mode} {result.cosine[0, 1]:+.3f}"
                      for mode, result in merged(results).items())
  return ["## Merged against fine-tuned (second half of each test split)",
          markdown.table(["task vectors", "task", "pre-trained + head", "fine-tuned",
                          "merged", "alpha"], rows),
          f"Cosine similarity of the two tasks' vectors: {cosines}.",
          "## Choosing alpha (first half of each test split)", curves]


def _alpha_figure(results: Results) -> str:
  figure, axis = new_figure()
  for mode, result in merged(results).items():
    alphas, scores = zip(*result.curve)
    axis.plot(alphas, scores, marker="o", label=f"{mode} (alpha {result.alpha:g})")
  axis.set_xlabel("alpha")
  axis.set_ylabel("mean normalized accuracy")
  axis.set_title("Merging MNIST and Fashion-MNIST task vectors", fontsize=9)
  axis.legend(fontsize=8)
  figure.tight_layout()
  return saved_image(results, figure, "alpha.png",
                     "normalized accuracy of the merge against alpha")


def questions(results: Results) -> List[Answer]:
  result = merged(results)
  dense, sparse = result["dense"], result["sparse"]
  examples = min(results.test_size(arm.key) for arm in results.arms) // 2
  gap = sparse.normalized - dense.normalized
  error = float(np.hypot(accuracy_standard_error(sparse.normalized, examples),
                         accuracy_standard_error(dense.normalized, examples)))
  joint = {mode: float(np.mean(list(r.merged.values()))) for mode, r in result.items()}
  return [
      Answer("Do sparse task vectors merge with less interference than dense ones?",
             f"Normalized accuracy of the merge: sparse {sparse.normalized:.3f}, dense "
             f"{dense.normalized:.3f} ({plus_minus(gap, error)}).",
             sign_verdict(gap, error), TALOS),
      Answer("What joint accuracy does one merged backbone reach on both tasks?",
             f"Dense {markdown.percent(joint['dense'])}, sparse "
             f"{markdown.percent(joint['sparse'])} (mean over the two tasks, each with its "
             f"own head; alpha {dense.alpha:g} and {sparse.alpha:g}).", MEASURED),
      Answer("How similar are the two tasks' vectors?",
             f"Cosine similarity {dense.cosine[0, 1]:+.3f} (dense), "
             f"{sparse.cosine[0, 1]:+.3f} (sparse).", MEASURED),
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
        "values in [0, 1] on the first half of each test split; the second half measures "
        "it."),
    duration="not measured yet (est. 15 min: 4 runs of 30 rounds, 4 preparations, 84 "
             "evaluations of the merge); --full: 100 rounds, est. 35 min",
    arms=arms, report=report, questions=questions,
    assignment=(
        "The course project merges DINO ViT-S/16 task vectors of CIFAR-100 clients; here "
        "two real tasks (MNIST, Fashion-MNIST) on the pre-trained ResNet-20, sized for 2 "
        "cores. Alpha is chosen on half of each test split because every training example "
        "belongs to a client."))
