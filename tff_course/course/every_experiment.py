"""Every course experiment in turn, each resumable in its own directory, and an index
report that links their reports with their verdicts and measured durations."""

from __future__ import annotations

import collections
import dataclasses
import datetime
import json
import os
import sys
import time
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from tff_course.atomic import write_text
from tff_course.course import markdown
from tff_course.course.questions import VERDICTS
from tff_course.course.run import ANSWERS_FILE, run_course_experiment
from tff_course.course.settings import DESCRIPTIONS, DEFAULT, run_dir_name
from tff_course.errors import ConfigError, DataError
from tff_course.versions import machine_description

TIMING_FILE = "timing.json"

CourseRun = Callable[..., str]


@dataclasses.dataclass(frozen=True)
class Entry:
  """One experiment of the course as `experiment all` runs it.

  Attributes:
    name, title: as `tff-course experiment list` shows them.
    run: `run(directory, setting=, data_dir=, rounds=, progress=)` runs (or resumes) it
      and returns its report's path; the directory then holds answers.json.
  """

  name: str
  title: str
  run: CourseRun


@dataclasses.dataclass(frozen=True)
class Outcome:
  """How one experiment of the index ended."""

  entry: Entry
  directory: str
  report: Optional[str]
  error: Optional[str]
  seconds: float
  invocations: int


def course_entries(extra: Sequence[Entry] = ()) -> List[Entry]:
  """The registered course experiments, in the registry's order, then `extra`: the
  experiments of packages above tff_course (tasks.inversion's), which the command line
  adds since tff_course may not import them."""
  from tff_course.course.registry import EXPERIMENTS

  def runner(experiment):
    return lambda directory, **options: run_course_experiment(experiment, directory,
                                                              **options)

  entries = [Entry(name, experiment.title, runner(experiment))
             for name, experiment in EXPERIMENTS.items()] + list(extra)
  names = [entry.name for entry in entries]
  if len(set(names)) != len(names):
    raise ValueError(f"course entries: got the names {names}, expected each once")
  return entries


def index_name(setting: str) -> str:
  return f"{run_dir_name('index', setting)}.md"


def run_every_experiment(parent: str, *, setting: str = DEFAULT,
                         data_dir: Optional[str] = None, rounds: Optional[int] = None,
                         progress: bool = True,
                         entries: Optional[List[Entry]] = None) -> Tuple[str, List[str]]:
  """Runs every entry into parent/NAME (NAME-full, NAME-assignment for those settings),
  going on past an experiment whose data or settings fail; writes the index report
  parent/index.md (index-SETTING.md). Re-running resumes each experiment; the durations
  add up the wall time of every invocation. Returns the index's path and the names of
  the experiments that failed."""
  outcomes = []
  entries = course_entries() if entries is None else entries
  for number, entry in enumerate(entries, 1):
    print(f"== experiment {number}/{len(entries)}: {entry.name}", file=sys.stderr,
          flush=True)
    directory = os.path.join(parent, run_dir_name(entry.name, setting))
    outcomes.append(timed_run(entry, directory, setting=setting, data_dir=data_dir,
                              rounds=rounds, progress=progress))
  path = os.path.join(parent, index_name(setting))
  write_text(path, index_report(parent, setting, rounds, outcomes))
  return path, [outcome.entry.name for outcome in outcomes if outcome.report is None]


def timed_run(entry: Entry, directory: str, **options) -> Outcome:
  """Runs the entry into `directory`; a ConfigError or DataError becomes the outcome's
  error. Its wall time is recorded however it ends, Ctrl-C included."""
  start = time.perf_counter()
  report, error = None, None
  try:
    report = entry.run(directory, **options)
  except (ConfigError, DataError) as failure:
    error = str(failure)
    print(f"tff-course: {entry.name}: {error}", file=sys.stderr, flush=True)
  finally:
    recorded = add_wall_time(directory, time.perf_counter() - start)
  return Outcome(entry, directory, report, error, *recorded)


def add_wall_time(directory: str, seconds: float):
  """Adds `seconds` to the directory's recorded wall time; returns (total seconds,
  invocations). A directory the experiment never created records nothing."""
  if not os.path.isdir(directory):
    return seconds, 1
  path = os.path.join(directory, TIMING_FILE)
  timing = {"seconds": 0.0, "invocations": 0}
  if os.path.exists(path):
    with open(path, encoding="utf-8") as stream:
      timing = json.load(stream)
  timing = {"seconds": timing["seconds"] + seconds, "invocations": timing["invocations"] + 1}
  write_text(path, json.dumps(timing, indent=2) + "\n")
  return timing["seconds"], timing["invocations"]


def verdict_counts(directory: str) -> Dict[str, int]:
  """Verdict -> how many of the experiment's answers have it."""
  with open(os.path.join(directory, ANSWERS_FILE), encoding="utf-8") as stream:
    answers = json.load(stream)
  counts = collections.Counter(answer["verdict"] for answer in answers)
  return {verdict: counts[verdict] for verdict in VERDICTS if counts[verdict]}


def index_report(parent: str, setting: str, rounds: Optional[int],
                 outcomes: List[Outcome]) -> str:
  """The index: one row per experiment with its report, verdicts and wall time."""
  rows = []
  for outcome in outcomes:
    if outcome.report is None:
      rows.append((outcome.entry.name, outcome.entry.title, f"failed: {outcome.error}",
                   "-", "-"))
      continue
    link = f"[{outcome.entry.name}]({os.path.relpath(outcome.report, parent)})"
    counts = verdict_counts(outcome.directory)
    rows.append((link, outcome.entry.title,
                 ", ".join(f"{n} {verdict}" for verdict, n in counts.items()),
                 f"{outcome.seconds / 60:.1f}", outcome.invocations))
  total = sum(outcome.seconds for outcome in outcomes)
  failed = [outcome.entry.name for outcome in outcomes if outcome.report is None]
  return "\n\n".join([
      "# The course's experiments",
      f"Setting: {DESCRIPTIONS[setting]}" + (f"; rounds: {rounds}" if rounds else "") +
      f". Written {datetime.datetime.now().isoformat(timespec='seconds')} on "
      f"{machine_description()}.",
      markdown.table(("experiment", "what it compares", "answers to the assignment's "
                      "questions", "wall time (min)", "invocations"), rows),
      f"Total wall time {total / 60:.1f} min, summed over every invocation of each "
      f"experiment (a resumed experiment adds the time of each attempt)."
      + (f" Failed: {', '.join(failed)}; fix what its line says and run the same command "
         f"again: finished experiments are not trained again." if failed else "")]) + "\n"
