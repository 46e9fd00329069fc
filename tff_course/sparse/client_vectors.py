"""Per-client task vectors of a federated round: each client's weights after its local
fine-tuning from the same global model, minus that model (the update FedAvg averages),
and how much they agree.

With clients as tasks, the cosine similarity of two clients' vectors measures their
interference (Ilharco et al., "Editing Models with Task Arithmetic", ICLR 2023): label
skew makes them point apart, and their average shrinks.
"""

from __future__ import annotations

import dataclasses
from typing import Mapping, Sequence, Tuple

import numpy as np

from tff_course.sparse.finetune import FinetuneSettings, finetune
from tff_course.sparse.task_vectors import (Weights, cosine_similarities, flat,
                                            model_weights, set_model_weights, task_vector)


def client_task_vectors(model, start: Mapping[str, np.ndarray],
                        masks: Mapping[str, np.ndarray],
                        clients: Sequence[Tuple[np.ndarray, np.ndarray]],
                        settings: FinetuneSettings) -> Sequence[Weights]:
  """Each client's task vector over the variables of `start`: `model` set to `start`,
  fine-tuned on the client's (images, labels) under `masks` with `settings` (the
  client's seed is settings.seed + its position); `model` is left at `start`."""
  vectors = []
  for position, (images, labels) in enumerate(clients):
    set_model_weights(model, start)
    finetune(model, masks, images, labels,
             dataclasses.replace(settings, seed=settings.seed + position))
    vectors.append(task_vector(model_weights(model, list(start)), start))
  set_model_weights(model, start)
  return vectors


def pairwise_cosines(vectors: Sequence[Mapping[str, np.ndarray]]) -> np.ndarray:
  """The clients' cosine-similarity matrix."""
  return cosine_similarities({str(index): vector for index, vector in enumerate(vectors)})


def mean_off_diagonal(matrix: np.ndarray) -> float:
  """The mean of a square matrix's entries off its diagonal (NaN below two rows)."""
  size = len(matrix)
  if size < 2:
    return float("nan")
  return float((np.sum(matrix) - np.trace(matrix)) / (size * (size - 1)))


def mean_vector_norm_ratio(vectors: Sequence[Mapping[str, np.ndarray]]) -> float:
  """|mean of the vectors| / mean of |vector|: 1 when they agree, near 1/sqrt(n) when
  orthogonal (how much of the clients' work survives averaging)."""
  rows = np.stack([flat(vector) for vector in vectors])
  mean_norm = float(np.mean(np.linalg.norm(rows, axis=1)))
  return float(np.linalg.norm(rows.mean(axis=0)) / mean_norm) if mean_norm > 0 else float("nan")
