"""FedSGD against FedAvg on MNIST: messages and accuracy as N, C, E and the data vary;
with --assignment, the homework's comparison and the two forms of FedSGD (exercise A1)."""

from __future__ import annotations

import dataclasses
from typing import Dict, List, Sequence

from tff_course.course.arms import Arm
from tff_course.course.experiment import CourseExperiment
from tff_course.course.fedsgd_grid import (COMPARISONS, check_comparisons, compared,
                                           comparison_sections, grid_answer)
from tff_course.course.fedsgd_homework import (ASSIGNMENT_TEXT, FORM_SCENARIOS,
                                               assignment_arms, form_answer, form_report,
                                               form_settings, homework_answers,
                                               homework_report, homework_settings)
from tff_course.course.fedsgd_runs import Setting, messages_to_reach
from tff_course.course.questions import Answer
from tff_course.course.results import Results
from tff_course.course.settings import ASSIGNMENT, FULL

__all__ = ["COMPARISONS", "EXPERIMENT", "Setting", "experiment", "messages_to_reach"]


def arms(setting: str, comparisons: Sequence[str] = COMPARISONS) -> List[Arm]:
  """The grid of the named comparisons (2NN, 15 rounds; --full: CNN, 50 rounds), or
  with the assignment setting the homework's arms, whatever the comparisons."""
  if setting == ASSIGNMENT:
    return assignment_arms()
  model, rounds = ("mnist_cnn", 50) if setting == FULL else ("mnist_2nn", 15)
  settings: Dict[str, Setting] = {}
  for comparison in comparisons:
    settings.update({s.key: s for s in compared(comparison)})
  return [Arm(key, s.label, s.config(model, rounds)) for key, s in settings.items()]


def present(results: Results, settings: Sequence[Setting]) -> bool:
  """Whether every one of the settings ran as an arm of `results`."""
  keys = {arm.key for arm in results.arms}
  return all(s.key in keys for s in settings)


def shown_comparisons(results: Results, comparisons: Sequence[str]) -> List[str]:
  """The named comparisons whose every arm ran."""
  return [name for name in comparisons if present(results, compared(name))]


def report(results: Results, comparisons: Sequence[str] = COMPARISONS) -> List[str]:
  sections = homework_report(results) if present(results, homework_settings()) else []
  for scenario in FORM_SCENARIOS:
    if present(results, form_settings(scenario)):
      sections += form_report(results, scenario)
  return sections + comparison_sections(results, shown_comparisons(results, comparisons))


def questions(results: Results) -> List[Answer]:
  """The questions the arms that ran can answer: the homework's comparison and A1's
  scenarios (--assignment), the grid's comparisons (default, --full)."""
  answers = homework_answers(results) if present(results, homework_settings()) else []
  answers += [form_answer(results, scenario) for scenario in FORM_SCENARIOS
              if present(results, form_settings(scenario))]
  for name in shown_comparisons(results, COMPARISONS):
    answers.append(grid_answer(results, name))
  return answers


EXPERIMENT = CourseExperiment(
    name="fedsgd-fedavg",
    title="FedSGD against FedAvg: messages and accuracy",
    description=(
        "McMahan et al.'s comparison on MNIST. FedSGD: every sampled client sends one "
        "full-batch gradient and the server takes one step (lr 0.1). FedAvg: every sampled "
        "client runs E epochs of SGD with B = 10 (lr 0.05) and the server averages the "
        "weights. Both send the same two messages per client per round, so the question is "
        "how many rounds, hence messages, each needs. IID clients split the 60,000 "
        "training images equally; non-IID clients get two shards of one class each. "
        "Tables give messages (both ways) and test accuracy after the last round, and the "
        "messages until each run first reached the table's lowest final accuracy. "
        "--assignment runs the homework's own comparison and exercise A1's two forms of "
        "FedSGD instead (see the assignment's settings at the end)."),
    duration="4.1 min measured (2NN, 15 rounds); --full: McMahan's CNN, 50 rounds, "
             "est. 1-2 h; --assignment: 1.6 to 3.7 min measured (6 runs, 2NN, 10 and 5 "
             "rounds)",
    arms=arms, report=report, questions=questions, assignment=ASSIGNMENT_TEXT)


def experiment(comparisons: Sequence[str] = COMPARISONS) -> CourseExperiment:
  """The experiment cut down to the named comparisons (their arms, tables, curves and
  questions); the assignment setting runs the homework's arms whatever they are."""
  check_comparisons(comparisons)
  chosen = tuple(comparisons)
  return dataclasses.replace(EXPERIMENT, arms=lambda setting: arms(setting, chosen),
                             report=lambda results: report(results, chosen))
