"""A course experiment: named arms, and a report built from their metrics."""

from __future__ import annotations

import dataclasses
from typing import Callable, List

from tff_course.course.arms import Arm
from tff_course.course.results import Results


@dataclasses.dataclass(frozen=True)
class CourseExperiment:
  """One of the course's classic experiments, run by `tff-course experiment NAME`.

  Attributes:
    name: the command-line name.
    title: the report's heading.
    description: what it compares and what to look for (markdown).
    duration: how long the default took on 2 shared cores, and the --full setting's
      estimate.
    arms: `arms(full)` gives the runs, the default setting or the full-size one.
    report: `report(results)` draws the experiment's figures into the run directory
      and returns the report's sections (markdown), after the common runs table.
  """

  name: str
  title: str
  description: str
  duration: str
  arms: Callable[[bool], List[Arm]]
  report: Callable[[Results], List[str]]
