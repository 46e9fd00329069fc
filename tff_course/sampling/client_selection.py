"""Client selection with non-uniform probabilities: where the probabilities come from
(given, proportional to data size, or drawn from a Dirichlet to model availability),
draws with replacement and their unbiased aggregation weights 1 / (K p_k), and
power-of-choice (Cho et al., "Towards Understanding Biased Client Selection in Federated
Learning", AISTATS 2022): d candidates drawn by p, the m of highest local loss kept.

All functions here are NumPy; the round's seed makes every draw reproducible.
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from tff_course.errors import ConfigError

SOURCES = ("uniform", "size", "given", "dirichlet")
SUM_TOLERANCE = 1e-6


def check_probabilities(probabilities, clients: int) -> np.ndarray:
  """`probabilities` as float64 when they are one finite, non-negative value per client
  summing to 1; ConfigError naming what is wrong otherwise."""
  values = np.asarray(probabilities, dtype=np.float64)
  if values.shape != (clients,):
    raise ConfigError(f"selection probabilities: got {values.size} values, expected one per "
                      f"client ({clients})")
  if not np.all(np.isfinite(values)):
    raise ConfigError("selection probabilities: got a value that is not a finite number, "
                      "expected finite values >= 0 summing to 1")
  if values.min() < 0:
    worst = int(np.argmin(values))
    raise ConfigError(f"selection probabilities: got {values[worst]:g} for client {worst}, "
                      f"expected values >= 0 summing to 1")
  if abs(values.sum() - 1.0) > SUM_TOLERANCE:
    raise ConfigError(f"selection probabilities: they sum to {values.sum():.6g}, expected 1 "
                      f"(within {SUM_TOLERANCE:g})")
  return values


def selection_probabilities(source: str, sizes: Sequence[int], *,
                            given: Optional[Sequence[float]] = None,
                            alpha: Optional[float] = None, seed: int = 0) -> np.ndarray:
  """Each client's probability of being drawn.

  Args:
    source: "uniform" (1 / N), "size" (n_k / n), "given" (`given`, checked), or
      "dirichlet" (one draw of Dirichlet(alpha, ..., alpha) with `seed`: small alpha makes
      a few clients nearly always available and most rarely).
    sizes: each client's number of examples (N clients).
  """
  clients = len(sizes)
  if clients == 0:
    raise ConfigError("selection probabilities: got no clients")
  if source == "uniform":
    return np.full(clients, 1.0 / clients)
  if source == "size":
    counts = np.asarray(sizes, dtype=np.float64)
    if counts.min() < 0 or counts.sum() <= 0:
      raise ConfigError("selection probabilities: sizes must be >= 0 with a positive sum")
    return counts / counts.sum()
  if source == "given":
    if given is None:
      raise ConfigError("selection probabilities: source 'given' needs the probabilities, "
                        "one per client")
    return check_probabilities(given, clients)
  if source == "dirichlet":
    if alpha is None or not alpha > 0:
      raise ConfigError(f"selection alpha: got {alpha!r}, expected a number > 0 for "
                        f"Dirichlet availability")
    return np.random.default_rng(seed).dirichlet(np.full(clients, float(alpha)))
  raise ConfigError(f"selection source: got {source!r}, expected one of {', '.join(SOURCES)}")


def draw_with_replacement(probabilities: np.ndarray, count: int, seed: int) -> np.ndarray:
  """`count` client indices drawn independently by `probabilities` (repeats possible)."""
  if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < 1:
    raise ConfigError(f"clients per round: got {count!r}, expected a whole number >= 1")
  return np.random.default_rng(seed).choice(len(probabilities), size=count, replace=True,
                                            p=probabilities)


def unbiased_weights(probabilities: np.ndarray, drawn: np.ndarray) -> np.ndarray:
  """1 / (K p_k) for each of the K draws: the sum over draws of weight x update is an
  unbiased estimate of the sum of every client's update (divide by N for their mean)."""
  return 1.0 / (len(drawn) * probabilities[drawn])


def power_of_choice(candidate_losses: Sequence[float], keep: int) -> np.ndarray:
  """Positions (into the candidates) of the `keep` candidates with the highest local loss,
  highest first; ties keep the candidates' order."""
  losses = np.asarray(candidate_losses, dtype=np.float64)
  if isinstance(keep, bool) or not 1 <= keep <= len(losses):
    raise ConfigError(f"power-of-choice: got d = {len(losses)} candidates and m = {keep}, "
                      f"expected 1 <= m <= d")
  return np.argsort(-losses, kind="stable")[:keep]


def power_of_choice_candidates(probabilities: np.ndarray, candidates: int, keep: int,
                               seed: int) -> np.ndarray:
  """The d = `candidates` distinct clients drawn by `probabilities` whose losses
  power-of-choice compares (d >= m = `keep`)."""
  if candidates < keep:
    raise ConfigError(f"power-of-choice: got d = {candidates} candidates for m = {keep} "
                      f"clients a round, expected d >= m")
  available = int(np.count_nonzero(probabilities))
  if candidates > available:
    raise ConfigError(f"power-of-choice: got d = {candidates}, expected at most {available} "
                      f"(the clients with a probability above 0)")
  return np.random.default_rng(seed).choice(len(probabilities), size=candidates,
                                            replace=False, p=probabilities)
