"""Merging fine-tuned models of several tasks by task arithmetic, and measuring it.

Every task's model shares the pre-trained backbone and has its own frozen head. The
merged backbone is pre-trained + alpha x (sum of the tasks' task vectors); each task is
then evaluated with its own head. Alpha is chosen on validation examples by the mean
normalized accuracy (merged / fine-tuned, TaLoS's criterion); the merged model is then
measured on other (test) examples, beside each fine-tuned model and the pre-trained
backbone with the task's head (alpha 0).
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Dict, List, Mapping, Sequence, Tuple

import numpy as np

from tff_course.sparse.task_vectors import (ALPHA_GRID, Weights, choose_alpha,
                                            cosine_similarities, merge, normalized_accuracy,
                                            task_vector)


@dataclasses.dataclass(frozen=True)
class TaskModels:
  """One task: its model's weights before and after fine-tuning (variable key -> value,
  backbone and head) and its validation and test examples (model inputs, labels)."""

  name: str
  pretrained: Weights
  finetuned: Weights
  validation: Tuple[np.ndarray, np.ndarray]
  test: Tuple[np.ndarray, np.ndarray]


@dataclasses.dataclass(frozen=True)
class MergeResult:
  """What merging measured: alpha chosen, the validation curve, test accuracies per task
  (merged, fine-tuned, pre-trained with the task's head), and the task vectors' cosine
  similarities."""

  alpha: float
  curve: List[Tuple[float, float]]
  merged: Dict[str, float]
  finetuned: Dict[str, float]
  pretrained: Dict[str, float]
  cosine: np.ndarray

  @property
  def normalized(self) -> float:
    """Mean over tasks of merged / fine-tuned test accuracy."""
    return normalized_accuracy(self.merged, self.finetuned)


def merge_tasks(tasks: Sequence[TaskModels], head_keys: Sequence[str],
                accuracy_of: Callable[[Mapping[str, np.ndarray], np.ndarray, np.ndarray],
                                      float],
                grid: Sequence[float] = ALPHA_GRID) -> MergeResult:
  """Merges `tasks`' backbones (every key but `head_keys`) and measures the merge.

  Args:
    tasks: the tasks, sharing one pre-trained backbone.
    head_keys: the keys of the heads' variables (each task keeps its own).
    accuracy_of: (weights, inputs, labels) -> accuracy of a model with those weights.
    grid: the alphas tried.
  """
  backbone = [key for key in tasks[0].pretrained if key not in head_keys]
  pretrained = {key: tasks[0].pretrained[key] for key in backbone}
  vectors = {task.name: task_vector({key: task.finetuned[key] for key in backbone},
                                    pretrained) for task in tasks}

  def with_backbone(task: TaskModels, weights: Mapping[str, np.ndarray]) -> Weights:
    return {**task.finetuned, **weights}

  finetuned_validation = {task.name: accuracy_of(task.finetuned, *task.validation)
                          for task in tasks}

  def score(alpha: float) -> float:
    merged = merge(pretrained, list(vectors.values()), alpha)
    return normalized_accuracy(
        {task.name: accuracy_of(with_backbone(task, merged), *task.validation)
         for task in tasks}, finetuned_validation)

  alpha, curve = choose_alpha(score, grid)
  merged = merge(pretrained, list(vectors.values()), alpha)
  return MergeResult(
      alpha=alpha, curve=curve,
      merged={task.name: accuracy_of(with_backbone(task, merged), *task.test)
              for task in tasks},
      finetuned={task.name: accuracy_of(task.finetuned, *task.test) for task in tasks},
      pretrained={task.name: accuracy_of(with_backbone(task, pretrained), *task.test)
                  for task in tasks},
      cosine=cosine_similarities(vectors))
