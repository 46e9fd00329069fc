"""The assignment's questions on gradient inversion, answered from the course's runs.

Every statistic is over the (image, seed) runs of an experiment: a mean with its standard
error (sample standard deviation / sqrt(runs); none from a single run), and a comparison
of two defenses is over the paired differences on the same (image, seed) runs.
"""

from __future__ import annotations

import math
from typing import Dict, List, Mapping, Sequence, Tuple

import numpy as np

from tff_course.course.questions import (MEASURED, NOT_REPRODUCED, REPRODUCED, WITHIN_NOISE,
                                         Answer, mean_and_error, sign_verdict)

BASELINE, STRONGEST, WEAKEST = "baseline", "noise", "pruning"
REFERENCE_RANKING = "noise the strongest inversion defense, pruning the weakest"
SUCCESS_MSE = 1e-3
PSNR_CAP = 100.0
STANDARD_ERRORS = ("Standard errors are over the (image, seed) runs: the runs' sample "
                   "standard deviation over sqrt(runs), of each run's value or of the "
                   "paired difference between two experiments on the same run; a single run "
                   "has none.")

Runs = Mapping[str, Sequence[Dict]]


def run_psnr(metrics: Dict) -> float:
  """A run's PSNR in dB from its mean MSE, at most PSNR_CAP (an exact recovery's is
  infinite)."""
  error = metrics["mean"]["mse"]
  if math.isnan(error):
    return math.nan
  return PSNR_CAP if error <= 10 ** (-PSNR_CAP / 10) else -10 * math.log10(error)


def plus_minus(mean: float, error: float, unit: str = "", digits: int = 1) -> str:
  """"3.1 +- 0.4 dB", or "3.1 dB (no s.e.)" without a standard error."""
  if math.isnan(error):
    return f"{mean:.{digits}f}{unit} (no s.e.)"
  return f"{mean:.{digits}f} +- {error:.{digits}f}{unit}"


def claimed_pairs(names: Sequence[str], strongest: str = STRONGEST,
                  weakest: str = WEAKEST) -> List[Tuple[str, str]]:
  """The (stronger, weaker) pairs the reference's ranking claims: the strongest defense
  beats every other, and every other beats the weakest."""
  pairs = [(strongest, name) for name in names if name != strongest]
  return pairs + [(name, weakest) for name in names if name not in (strongest, weakest)]


def pair_verdicts(psnr: Mapping[str, Sequence[float]], strongest: str = STRONGEST,
                  weakest: str = WEAKEST) -> List[Tuple[str, str, float, float, str]]:
  """(stronger, weaker, mean, s.e., verdict) of PSNR[weaker] - PSNR[stronger] over the
  paired runs, for each claimed pair; the verdict is `sign_verdict`'s."""
  rows = []
  for stronger, weaker in claimed_pairs(list(psnr), strongest, weakest):
    differences = np.subtract(psnr[weaker], psnr[stronger])
    mean, error = mean_and_error(differences)
    rows.append((stronger, weaker, mean, error, sign_verdict(mean, error)))
  return rows


def ranking_verdict(psnr: Mapping[str, Sequence[float]], strongest: str = STRONGEST,
                    weakest: str = WEAKEST) -> str:
  """Whether the runs reproduce the reference's ranking of the defenses.

  `psnr` maps each defense to its runs' PSNR (dB; lower: a stronger defense), the same
  (image, seed) runs in the same order for every defense. The reference ranks `strongest`
  first and `weakest` last, so it claims PSNR[strongest] < PSNR[d] < PSNR[weakest] for
  every other defense d (`claimed_pairs`). Each claimed pair is judged on the paired
  differences PSNR[weaker] - PSNR[stronger]: reproduced when their mean exceeds twice its
  standard error, not reproduced when it is below minus twice that, else within noise.
  The ranking is reproduced when every pair is, not reproduced when any pair is, and
  within noise otherwise (the order holds, or fails, only within noise). A single run
  has no standard error, so each of its pairs, and the ranking, is within noise.
  """
  verdicts = {row[-1] for row in pair_verdicts(psnr, strongest, weakest)}
  if verdicts == {REPRODUCED}:
    return REPRODUCED
  return NOT_REPRODUCED if NOT_REPRODUCED in verdicts else WITHIN_NOISE


def course_answers(runs: Runs) -> List[Answer]:
  """The answers of the runs of each experiment (name -> run metrics, in the same
  (image, seed) order); a question whose experiments did not run is left out."""
  defended = [name for name in runs if name != BASELINE]
  answers = []
  if BASELINE in runs:
    answers.append(recovery_answer(runs[BASELINE]))
  if {STRONGEST, WEAKEST} <= set(defended):
    answers.append(ranking_answer({name: runs[name] for name in defended},
                                  runs.get(BASELINE)))
  if defended and all("gradient" in m for name in defended for m in runs[name]):
    answers.append(cost_answer({name: runs[name] for name in defended}))
  return answers


def recovery_answer(baseline: Sequence[Dict]) -> Answer:
  """Q: does DLG recover the image from the undefended gradient?"""
  mse = [m["mean"]["mse"] for m in baseline]
  recovered = sum(error < SUCCESS_MSE for error in mse)
  labels = sum(m["mean"]["label_recovered"] == 1 for m in baseline)
  return Answer(
      "Does DLG recover the client's image from the undefended gradient?",
      f"{recovered} of {len(mse)} runs recovered the image (MSE < {SUCCESS_MSE:g}); PSNR "
      f"{plus_minus(*mean_and_error([run_psnr(m) for m in baseline]), ' dB')}; MSE "
      f"{_mse_spread(mse)}; the label was recovered in {labels} of {len(mse)}.", MEASURED)


def ranking_answer(defended: Runs, baseline=None) -> Answer:
  """Q: which defense protects best and which least, ranked by the attack's PSNR."""
  psnr = {name: [run_psnr(m) for m in metrics] for name, metrics in defended.items()}
  order = sorted(psnr, key=lambda name: mean_and_error(psnr[name])[0])
  ranked = "; ".join(
      f"{name} {plus_minus(*mean_and_error(psnr[name]), ' dB')} (MSE "
      f"{_mse_spread([m['mean']['mse'] for m in defended[name]])})" for name in order)
  undefended = ("" if not baseline else f" Undefended: "
                f"{plus_minus(*mean_and_error([run_psnr(m) for m in baseline]), ' dB')}.")
  pairs = ", ".join(f"{weaker} - {stronger} {plus_minus(mean, error, ' dB')} ({verdict})"
                    for stronger, weaker, mean, error, verdict in pair_verdicts(psnr))
  return Answer(
      "Which defense protects best, and which least?",
      f"Ranked by the attack's PSNR, strongest defense (lowest PSNR) first: {ranked}.{undefended}"
      f" Paired PSNR differences over {len(next(iter(psnr.values())))} run(s) for the "
      f"reference's order: {pairs}. The verdict needs every difference above twice its "
      f"standard error.", ranking_verdict(psnr), REFERENCE_RANKING)


def cost_answer(defended: Runs) -> Answer:
  """Q: what does each defense do to the shared gradient?"""
  parts = []
  for name, metrics in defended.items():
    distortion = mean_and_error([m["gradient"]["relative_distortion"] for m in metrics])
    nonzero = mean_and_error([m["gradient"]["nonzero_fraction"] for m in metrics])
    parts.append(f"{name} {plus_minus(*distortion, digits=3)} relative distortion, "
                 f"{plus_minus(*nonzero, digits=3)} of its entries non-zero")
  return Answer(
      "What does each defense cost?",
      f"The shared gradient's relative distortion ||g' - g|| / ||g|| and the fraction of "
      f"its entries left non-zero: {'; '.join(parts)}. The accuracy a defended training "
      f"loses is not measured by these runs (`tff-course invert sweep` measures it).",
      MEASURED)


def _mse_spread(mse: Sequence[float]) -> str:
  if len(mse) == 1:
    return f"{mse[0]:.3g}"
  return f"median {np.median(mse):.3g}, {min(mse):.3g} to {max(mse):.3g}"
