"""Task arithmetic (Ilharco et al., "Editing Models with Task Arithmetic", ICLR 2023).

A task vector is fine-tuned minus pre-trained weights, variable by variable. Task
vectors are added to the pre-trained weights, scaled by one alpha chosen on validation
data from an evenly spaced grid over [0, 1] (21 points, as TaLoS's code does), to give
one model for all the tasks; each task keeps its own frozen head. Their interference is
read from cosine similarities and from the merged model's accuracy on every task against
each task's fine-tuned model ("normalized accuracy" = merged / fine-tuned).
In federated learning a client's update (its weights minus the global ones it started
from) is a task vector of its data.
"""

from __future__ import annotations

import math
import numbers
from typing import Callable, Dict, List, Mapping, Sequence, Tuple

import numpy as np

from tff_course.errors import ConfigError
from tff_course.layout_check import layout_differences, listed

Weights = Dict[str, np.ndarray]
ALPHA_GRID = tuple(np.linspace(0.0, 1.0, 21).round(6))


def model_weights(model, keys: Sequence[str]) -> Weights:
  """Key -> value of `model`'s variables named in `keys` (trainable or not)."""
  from tff_course.sparse.mask_set import variable_key

  found = {variable_key(v): v for v in model.weights}
  missing = [key for key in keys if key not in found]
  if missing:
    raise ConfigError(f"weights: {', '.join(missing[:3])} not in model {model.name!r}")
  return {key: found[key].numpy() for key in keys}


def set_model_weights(model, weights: Mapping[str, np.ndarray]) -> None:
  """Assigns `weights` (key -> value) to `model`'s variables of those keys."""
  from tff_course.sparse.mask_set import variable_key

  for variable in model.weights:
    key = variable_key(variable)
    if key in weights:
      variable.assign(np.asarray(weights[key], variable.dtype.as_numpy_dtype))


def task_vector(finetuned: Mapping[str, np.ndarray],
                pretrained: Mapping[str, np.ndarray]) -> Weights:
  """finetuned - pretrained, variable by variable (same keys and shapes required)."""
  _check_same_layout("fine-tuned weights", finetuned, pretrained)
  return {key: np.asarray(finetuned[key], np.float64) - np.asarray(pretrained[key], np.float64)
          for key in pretrained}


def check_alpha(alpha) -> float:
  """`alpha` as a float; ConfigError unless it is a finite number."""
  if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real) or not math.isfinite(
      alpha):
    raise ConfigError(f"alpha: got {alpha!r}, expected a finite number")
  return float(alpha)


def merge(pretrained: Mapping[str, np.ndarray], vectors: Sequence[Mapping[str, np.ndarray]],
          alpha: float) -> Weights:
  """pretrained + alpha * (sum of `vectors`), in the pre-trained weights' dtypes."""
  alpha = check_alpha(alpha)
  if not vectors:
    raise ConfigError("task vectors: got none, expected at least one to merge")
  for index, vector in enumerate(vectors):
    _check_same_layout(f"task vector {index}", vector, pretrained)
  return {key: (np.asarray(value, np.float64) + alpha * sum(v[key] for v in vectors)
                ).astype(np.asarray(value).dtype)
          for key, value in pretrained.items()}


def choose_alpha(score: Callable[[float], float],
                 grid: Sequence[float] = ALPHA_GRID) -> Tuple[float, List[Tuple[float, float]]]:
  """(the alpha of `grid` with the highest `score`, every (alpha, score)); the first
  (smallest) alpha wins ties."""
  if not len(grid):
    raise ConfigError("alpha grid: got no values, expected at least one")
  scored = [(check_alpha(alpha), float(score(alpha))) for alpha in grid]
  best = max(scored, key=lambda pair: (pair[1], -pair[0]))
  return best[0], scored


def flat(vector: Mapping[str, np.ndarray]) -> np.ndarray:
  """All entries of `vector`, in key order, as one float64 array."""
  return np.concatenate([np.ravel(vector[key]).astype(np.float64) for key in sorted(vector)])


def cosine_similarities(vectors: Mapping[str, Mapping[str, np.ndarray]]) -> np.ndarray:
  """The matrix of cosine similarities between the named task vectors (0 for a zero one)."""
  rows = np.stack([flat(vector) for vector in vectors.values()])
  norms = np.linalg.norm(rows, axis=1)
  safe = np.where(norms > 0, norms, 1.0)
  similarity = (rows @ rows.T) / np.outer(safe, safe)
  return np.where(np.outer(norms > 0, norms > 0), similarity, 0.0)


def normalized_accuracy(merged: Mapping[str, float], finetuned: Mapping[str, float]) -> float:
  """The mean over tasks of merged accuracy / fine-tuned accuracy (TaLoS's selection score)."""
  missing = [task for task in merged if task not in finetuned]
  if missing:
    raise ConfigError(f"fine-tuned accuracy: none for {', '.join(missing)}")
  return float(np.mean([merged[task] / finetuned[task] if finetuned[task] > 0 else 0.0
                        for task in merged]))


def _check_same_layout(name: str, found: Mapping[str, np.ndarray],
                       expected: Mapping[str, np.ndarray]) -> None:
  shapes = {key: np.shape(value) for key, value in expected.items()}
  missing, unexpected, wrong = layout_differences(found, shapes)
  if missing or unexpected:
    raise ConfigError(f"{name}: keys differ from the pre-trained weights' (missing "
                      f"{listed(missing) or 'none'}; unexpected {listed(unexpected) or 'none'})")
  if wrong:
    raise ConfigError(f"{name}: {wrong[0]}, the pre-trained weight's")
