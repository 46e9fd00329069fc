"""The competition's score, computed exactly as its autograder does.

score = (accuracy + zero parameters / all parameters) / 2 when accuracy > 0.6 and
sparsity > 0, else 0. Every parameter counts, biases included.
"""

from __future__ import annotations

import dataclasses
from typing import Sequence, Tuple

import numpy as np

from pruning.reference import Arrays

ACCURACY_FLOOR = 0.6


def count_zeros(weights: Sequence[np.ndarray]) -> Tuple[int, int]:
  """(zero entries, all entries) over `weights`."""
  zeros = sum(int(np.count_nonzero(np.asarray(w) == 0)) for w in weights)
  total = sum(int(np.asarray(w).size) for w in weights)
  return zeros, total


def competition_score(accuracy: float, sparsity: float) -> float:
  """(accuracy + sparsity) / 2 if accuracy > 0.6 and sparsity > 0, else 0."""
  if accuracy > ACCURACY_FLOOR and sparsity > 0:
    return (accuracy + sparsity) / 2
  return 0.0


@dataclasses.dataclass(frozen=True)
class Score:
  """A model's accuracy, sparsity and score on an evaluation set."""

  accuracy: float
  zeros: int
  parameters: int
  examples: int

  @property
  def sparsity(self) -> float:
    return self.zeros / self.parameters

  @property
  def score(self) -> float:
    return competition_score(self.accuracy, self.sparsity)

  def describe(self) -> str:
    """Three lines: accuracy, sparsity and score."""
    return (f"accuracy {self.accuracy:.4f} ({round(self.accuracy * self.examples)} of "
            f"{self.examples} test images)\n"
            f"sparsity {self.sparsity:.4f} ({self.zeros:,} of {self.parameters:,} "
            f"parameters are zero)\n"
            f"score    {self.score:.4f}")


def score_model(model, test: Arrays) -> Score:
  """Scores `model` on `test`."""
  from pruning.training import accuracy

  zeros, total = count_zeros(model.get_weights())
  return Score(accuracy=accuracy(model, test), zeros=zeros, parameters=total,
               examples=len(test))
