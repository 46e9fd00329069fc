"""A course experiment: named arms, a report built from their metrics, and the answers
to its assignment's questions."""

from __future__ import annotations

import dataclasses
from typing import Callable, List

from tff_course.course.arms import Arm
from tff_course.course.questions import BINOMIAL_ERRORS, Answer
from tff_course.course.results import Results


@dataclasses.dataclass(frozen=True)
class CourseExperiment:
  """One of the course's classic experiments, run by `tff-course experiment NAME`.

  Attributes:
    name: the command-line name.
    title: the report's heading.
    description: what it compares and what to look for (markdown).
    duration: how long the default took on 2 shared cores, and the other settings'
      estimates.
    arms: `arms(setting)` gives the runs of a setting of tff_course.course.settings.
    report: `report(results)` draws the experiment's figures into the run directory
      and returns the report's sections (markdown), after the common runs table.
    questions: `questions(results)` answers the assignment's questions from the runs.
    assignment: the parameters the assignment states, and where and why the default
      setting differs from them (markdown).
    errors: what the answers' standard errors are (the test set's, or the seeds').
  """

  name: str
  title: str
  description: str
  duration: str
  arms: Callable[[str], List[Arm]]
  report: Callable[[Results], List[str]]
  questions: Callable[[Results], List[Answer]]
  assignment: str
  errors: str = BINOMIAL_ERRORS
