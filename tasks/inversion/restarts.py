"""Restarting a failed attack from a fresh dummy, and keeping the best attempt.

DLG's L-BFGS with its fixed step of 1 sometimes throws the dummy's pixels to 1e4-1e7
within a few steps (the sigmoids saturate and L-BFGS stalls), or ends far from the
shared gradient. Whether an attempt failed is judged from the attack's own signals,
never from the true images: the objective became NaN or infinite, the dummy image left
a sane range, or the final gradient distance is not small next to the shared
gradient's squared norm (successful DLG attacks on CIFAR-10 end near 1e-9-1e-7 of it,
failed ones at 1e-2 or above). A failed attempt is re-run from a dummy drawn with the
seed (seed, k) for the k-th restart; the first attempt draws with the seed itself, as
without restarts. The attempt with the least objective is kept.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, List, Sequence, Tuple

import numpy as np

from tasks.inversion.outcome import Attempt, AttackResult, Status


def attempt_seed(seed: int, attempt: int) -> Tuple[int, ...]:
  """The dummy's seed for attempt 0, 1, ...: (seed,) first (the same draw as `seed`),
  then (seed, attempt)."""
  return (seed,) if attempt == 0 else (seed, attempt)


def relative_distance(distance: float, target_norm: float) -> float:
  """A gradient distance over the shared gradient's squared norm (0 for a zero distance,
  infinite for a positive one to an all-zero gradient)."""
  if distance == 0:
    return 0.0
  return distance / target_norm if target_norm > 0 else float("inf")


def failure_reason(status: Status, relative_objective: float, image_magnitude: float, *,
                   max_relative: float, bound: float) -> str:
  """Why an attempt failed, or "" when it did not.

  Args:
    status: how the optimisation ended.
    relative_objective: the final gradient distance over the shared gradient's squared
      norm (NaN when it does not apply, as for a cosine distance).
    image_magnitude: the largest |value| of the final dummy images.
    max_relative: the largest relative objective of a successful attempt.
    bound: the largest |value| of a sane dummy image.
  """
  if status is Status.DIVERGED:
    return "the objective became NaN or infinite"
  if not image_magnitude <= bound:
    return f"the dummy image left [-{bound:g}, {bound:g}] (max |value| {image_magnitude:.3g})"
  if not np.isnan(relative_objective) and not relative_objective <= max_relative:
    return (f"gradient distance {relative_objective:.3g} of the shared gradient's squared "
            f"norm, above {max_relative:g}")
  return ""


def best_attempt(objectives: Sequence[float]) -> int:
  """The index of the least objective (non-finite counts as infinite; first of ties)."""
  values = [o if np.isfinite(o) else np.inf for o in objectives]
  return int(np.argmin(values))


def run_with_restarts(attempt: Callable[[Tuple[int, ...]], AttackResult],
                      judge: Callable[[AttackResult], Tuple[float, str]], *, seed: int,
                      restarts: int) -> AttackResult:
  """Runs `attempt(seed)` and, while `judge` finds a failure, up to `restarts` more
  attempts from derived seeds; returns the best attempt with every attempt recorded.

  Args:
    attempt: the attack from the dummy drawn with the given seed.
    judge: result -> (relative objective, failure reason or "").
    seed: the attack's seed.
    restarts: how many failed attempts may be re-run.
  """
  results: List[AttackResult] = []
  records: List[Attempt] = []
  for k in range(restarts + 1):
    result = attempt(attempt_seed(seed, k))
    relative, reason = judge(result)
    results.append(result)
    records.append(Attempt(seed=attempt_seed(seed, k), status=result.status,
                           steps=result.steps, evaluations=result.evaluations,
                           seconds=result.seconds, objective=result.objective,
                           relative_objective=relative, failure=reason))
    if not reason:
      break
  kept = best_attempt([r.objective for r in results])
  return dataclasses.replace(
      results[kept], message=_message(records, kept, results[kept].message),
      evaluations=sum(r.evaluations for r in records),
      seconds=sum(r.seconds for r in records), attempts=records, kept=kept)


def _message(records: List[Attempt], kept: int, message: str) -> str:
  if len(records) == 1:
    return message
  failed = "; ".join(f"attempt {i + 1} (seed {_seed_text(r.seed)}): {r.failure}"
                     for i, r in enumerate(records) if r.failure)
  verdict = ("every attempt failed" if all(r.failure for r in records)
             else f"attempt {len(records)} succeeded")
  text = (f"{verdict} after {len(records) - 1} restart(s) ({failed}); kept attempt "
          f"{kept + 1}, of least gradient distance")
  return f"{text}; {message}" if message else text


def _seed_text(seed: Tuple[int, ...]) -> str:
  return str(seed[0]) if len(seed) == 1 else str(tuple(seed))
