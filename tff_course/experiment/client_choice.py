"""Which of a run's clients train in a round under its selection settings, and the
weights their updates carry (the draws themselves: tff_course.sampling.client_selection).

- `train.selection` "uniform": K = floor(C N) distinct clients, uniformly (the runner's
  usual sampling); "size", "given", "dirichlet": K independent draws with replacement
  by q_k (a client drawn twice trains and counts twice).
- `train.selection_weights` "examples": the drawn updates are averaged by examples, as
  FedAvg averages; "unbiased": draw j of client k carries p_k / (K q_k) with
  p_k = n_k / n (Horvitz-Thompson) and the server sums the weighted updates without
  dividing by the weights' sum, an unbiased estimate of the full-participation mean.
- `train.power_of_choice` d: d distinct candidates drawn by q; the K of highest loss on
  their own training data under the current model train (Cho et al. 2022).
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Optional, Sequence

import numpy as np

from tff_course.errors import ConfigError
from tff_course.sampling.client_selection import (draw_with_replacement, power_of_choice,
                                                  power_of_choice_candidates,
                                                  selection_probabilities, unbiased_weights)

SELECTION_WEIGHTS = ("examples", "unbiased")

CandidateLosses = Callable[[np.ndarray], np.ndarray]


@dataclasses.dataclass(frozen=True)
class ClientChoice:
  """A run's client selection over its N devices.

  Attributes:
    probabilities: q_k, each device's probability of being drawn.
    objective: p_k = n_k / n, each device's share of the training examples.
    per_round: K, the clients that train a round.
    candidates: power-of-choice's d, or None.
    unbiased: updates carry p_k / (K q_k) (see the module docstring).
    uniform: K distinct clients uniformly, as the runner samples by default.
  """

  probabilities: np.ndarray
  objective: np.ndarray
  per_round: int
  candidates: Optional[int]
  unbiased: bool
  uniform: bool

  def positions(self, seed: int,
                candidate_losses: Optional[CandidateLosses] = None) -> np.ndarray:
    """The round's devices (indices into the run's devices) for the round's `seed`;
    power-of-choice calls `candidate_losses(candidates)` for their local losses."""
    if self.candidates is not None:
      if candidate_losses is None:
        raise ValueError("power-of-choice: the round's clients depend on the candidates' "
                         "losses; pass candidate_losses (positions -> local losses)")
      drawn = power_of_choice_candidates(self.probabilities, self.candidates,
                                         self.per_round, seed)
      return drawn[power_of_choice(candidate_losses(drawn), self.per_round)]
    if self.uniform:
      return np.sort(np.random.default_rng(seed).choice(
          len(self.probabilities), size=self.per_round, replace=False))
    return draw_with_replacement(self.probabilities, self.per_round, seed)

  def update_weights(self, positions: np.ndarray) -> np.ndarray:
    """p_k / (K q_k) for each drawn device: the weights that make the summed update
    unbiased (for uniform draws without replacement, p_k N / K: the same estimator)."""
    return self.objective[positions] * unbiased_weights(self.probabilities, positions)


def client_choice(train, sizes: Sequence[int], per_round: int) -> Optional[ClientChoice]:
  """The ClientChoice `train` (a TrainConfig) asks for over devices of `sizes` examples,
  or None when it samples as the runner always has (uniform, examples weights).

  Raises:
    ConfigError: probabilities that do not fit the devices, or d outside [K, N].
  """
  plain = (train.selection == "uniform" and train.selection_weights == "examples" and
           train.power_of_choice is None)
  if plain:
    return None
  counts = np.asarray(sizes, dtype=np.float64)
  try:
    probabilities = selection_probabilities(
        train.selection, sizes, given=train.selection_probabilities,
        alpha=train.selection_alpha, seed=train.seed)
  except ConfigError as error:
    raise _named(error, "selection probabilities", "train.selection_probabilities") from None
  choice = ClientChoice(probabilities=probabilities, objective=counts / counts.sum(),
                        per_round=per_round, candidates=train.power_of_choice,
                        unbiased=train.selection_weights == "unbiased",
                        uniform=train.selection == "uniform")
  if choice.candidates is not None:
    try:
      power_of_choice_candidates(probabilities, choice.candidates, per_round, seed=0)
    except ConfigError as error:
      raise _named(error, "power-of-choice", "train.power_of_choice") from None
  return choice


def _named(error: ConfigError, said: str, field: str) -> ConfigError:
  """`error` with the config field it concerns in place of how the sampling module
  names it."""
  return ConfigError(str(error).replace(said, field, 1))
