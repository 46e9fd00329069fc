"""The assignment's questions and the answers a run measured, with a verdict against
what the assignment's reference solution observed."""

from __future__ import annotations

import dataclasses
import math
from typing import Optional, Sequence, Tuple

import numpy as np

from tff_course.course import markdown

REPRODUCED = "reproduced"
NOT_REPRODUCED = "not reproduced"
WITHIN_NOISE = "within noise"
MEASURED = "measured"
VERDICTS = (REPRODUCED, NOT_REPRODUCED, WITHIN_NOISE, MEASURED)


@dataclasses.dataclass(frozen=True)
class Answer:
  """One question of the assignment and what the run says to it.

  Attributes:
    question: the assignment's question.
    answer: the measured answer, with the run's numbers.
    verdict: one of VERDICTS; "measured" where there is no reference observation, or
      where the reference's number is not comparable (another model, say).
    reference: what the assignment's reference solution observed (None: not given).
  """

  question: str
  answer: str
  verdict: str = MEASURED
  reference: Optional[str] = None

  def __post_init__(self):
    if self.verdict not in VERDICTS:
      raise ValueError(f"verdict: got {self.verdict!r}, expected one of {VERDICTS}")
    if self.verdict != MEASURED and not self.reference:
      raise ValueError(f"question {self.question!r}: the verdict {self.verdict!r} needs "
                       f"the reference observation it was judged against")
    if not self.answer.strip():
      raise ValueError(f"question {self.question!r}: the answer is empty")

  def to_dict(self) -> dict:
    return dataclasses.asdict(self)


def mean_and_error(values: Sequence[float]) -> Tuple[float, float]:
  """(mean, standard error of the mean); the error is NaN for fewer than two values."""
  values = np.asarray(values, np.float64)
  if len(values) < 2:
    return float(np.mean(values)) if len(values) else math.nan, math.nan
  return float(np.mean(values)), float(np.std(values, ddof=1) / math.sqrt(len(values)))


def accuracy_standard_error(accuracy: float, test_examples: int) -> float:
  """Binomial standard error of an accuracy measured on `test_examples` examples."""
  if math.isnan(accuracy) or test_examples < 1:
    return math.nan
  return math.sqrt(max(accuracy * (1 - accuracy), 1e-12) / test_examples)


def difference_standard_error(first: float, second: float, test_examples: int) -> float:
  """Standard error of the difference of two independently measured accuracies."""
  return math.hypot(accuracy_standard_error(first, test_examples),
                    accuracy_standard_error(second, test_examples))


def sign_verdict(difference: float, standard_error: float) -> str:
  """For a reference that saw `difference` > 0: reproduced when it is more than two
  standard errors above 0, not reproduced when more than two below, else within noise."""
  if math.isnan(difference):
    return NOT_REPRODUCED
  if difference > 2 * standard_error:
    return REPRODUCED
  if difference < -2 * standard_error:
    return NOT_REPRODUCED
  return WITHIN_NOISE


def equal_verdict(difference: float, standard_error: float) -> str:
  """For a reference that saw no difference: reproduced when `difference` is within two
  standard errors of 0, not reproduced otherwise."""
  if math.isnan(difference) or abs(difference) > 2 * standard_error:
    return NOT_REPRODUCED
  return REPRODUCED


def bound_verdict(difference: float, bound: float, standard_error: float) -> str:
  """For a reference that saw |difference| <= bound: reproduced when it is, not
  reproduced when it exceeds the bound by more than two standard errors, else within
  noise."""
  if math.isnan(difference):
    return NOT_REPRODUCED
  if abs(difference) <= bound:
    return REPRODUCED
  if abs(difference) - bound > 2 * standard_error:
    return NOT_REPRODUCED
  return WITHIN_NOISE


def plus_minus(difference: float, standard_error: float) -> str:
  """"+1.23 pt +- 0.45 pt" for a difference of accuracies."""
  return f"{markdown.points(difference)} +- {100 * standard_error:.2f} pt"


BINOMIAL_ERRORS = ("Standard errors are those of the test set's size (binomial); they leave "
                   "out seed-to-seed variation, which `tff-course train --seeds` measures.")


SEED_ERRORS = ("Standard errors are those of the mean over seeds (each run's final test "
               "accuracy, one per seed); a setting run with one seed gets its test set's "
               "binomial error instead.")


def questions_section(answers: Sequence[Answer], errors: str = BINOMIAL_ERRORS) -> str:
  """The report's section: every question, the measured answer, the reference's
  observation and the verdict, after `errors`, which says what the standard errors are."""
  lines = ["## The assignment's questions", errors]
  for number, answer in enumerate(answers, 1):
    lines.append(f"**Q{number}. {answer.question}**\n\n"
                 f"- Measured: {answer.answer}\n"
                 + (f"- Reference solution: {answer.reference}\n" if answer.reference else "")
                 + f"- Verdict: **{answer.verdict}**")
  return "\n\n".join(lines)
