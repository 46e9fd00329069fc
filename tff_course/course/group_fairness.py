"""Group non-IID CIFAR-10: fair against unfair participation of three groups of classes."""

from __future__ import annotations

from typing import Dict, List

import numpy as np

from tff_course.course import cifar_configs, markdown
from tff_course.course.arms import Arm
from tff_course.course.experiment import CourseExperiment
from tff_course.course.results import Results, last_evaluated
from tff_course.experiment.config import DataConfig, ExperimentConfig, TrainConfig
from tff_course.course.figures import arm_curves
from tff_course.course.questions import (MEASURED, NOT_REPRODUCED, Answer,
                                         difference_standard_error, plus_minus, sign_verdict)
from tff_course.course.settings import DEFAULT
from tff_course.plots import plot_lines

GROUPS = {0: (0, 1, 2), 1: (3, 4, 5), 2: (6, 7, 8, 9)}
FAIR = {0: 4, 1: 4, 2: 4}
UNFAIR = {0: 10, 1: 2, 2: 1}
ASSIGNMENT_ROUNDS = 100
LEFT_BEHIND = 2


def group_config(name: str, devices_per_group: Dict[int, int], *, rounds: int,
                 aggregator: str = "mean") -> ExperimentConfig:
  """FedAvg over devices of 500 images of one group's classes each."""
  return ExperimentConfig(
      name=name,
      data=DataConfig(dataset="cifar10", partition="groups",
                      samples_per_client=cifar_configs.EXAMPLES_PER_DEVICE, groups=GROUPS),
      train=TrainConfig(model=cifar_configs.MODEL, algorithm="fedavg",
                        client_lr=cifar_configs.CLIENT_LR,
                        batch_size=cifar_configs.BATCH_SIZE, epochs=1, rounds=rounds,
                        devices_per_group=devices_per_group, aggregator=aggregator,
                        checkpoint_every=10))


def arms(setting: str) -> List[Arm]:
  rounds = 50 if setting == DEFAULT else ASSIGNMENT_ROUNDS
  return [
      Arm("fair", "fair (4/4/4)", group_config("fair", FAIR, rounds=rounds)),
      Arm("unfair", "unfair (10/2/1)", group_config("unfair", UNFAIR, rounds=rounds)),
      Arm("unfair-group-mean", "unfair (10/2/1), group-aware mean",
          group_config("unfair-group-mean", UNFAIR, rounds=rounds, aggregator="group_mean")),
  ]


def report(results: Results) -> List[str]:
  sections = ["## Per-group test accuracy"]
  for arm in results.arms:
    lines = [(results.path(arm.key), f"test_group_{group}_accuracy",
              f"group {group} (classes {', '.join(map(str, classes))})")
             for group, classes in GROUPS.items()]
    lines.append((results.path(arm.key), "test_accuracy", "all classes"))
    path = plot_lines(lines, results.path(f"groups-{arm.key}.png"), ylabel="test accuracy",
                      title=f"{arm.label}: test accuracy per group")
    sections.append(markdown.image(results, path, f"{arm.label}: per-group accuracy"))
  sections += ["## All scenarios",
               arm_curves(results, [arm.key for arm in results.arms], "curves.png",
                          "Group non-IID CIFAR-10: fair vs unfair participation"),
               "## Final accuracy per group", group_table(results)]
  return sections


def group_table(results: Results) -> str:
  """Final test accuracy of each group and the spread between the best and worst."""
  rows = []
  for arm in results.arms:
    finals = list(final_group_accuracies(results, arm.key).values())
    rows.append((arm.label, *(markdown.percent(v) for v in finals),
                 markdown.points(np.nanmax(finals) - np.nanmin(finals)),
                 markdown.percent(last_evaluated(results.metrics(arm.key)["test_accuracy"]))))
  return markdown.table(("scenario", *(f"group {g}" for g in GROUPS),
                         "best - worst group", "all classes"), rows)


def final_group_accuracies(results: Results, key: str) -> Dict[int, float]:
  """Group -> the arm's last evaluated test accuracy on that group's classes."""
  columns = results.metrics(key)
  return {group: last_evaluated(columns[f"test_group_{group}_accuracy"]) for group in GROUPS}


def group_test_size(results: Results, key: str, group: int) -> int:
  """Test examples of the group's classes (test splits are class-balanced)."""
  return results.test_size(key) * len(GROUPS[group]) // 10


def questions(results: Results) -> List[Answer]:
  fair = final_group_accuracies(results, "fair")
  unfair = final_group_accuracies(results, "unfair")
  mended = final_group_accuracies(results, "unfair-group-mean")
  size = group_test_size(results, "unfair", LEFT_BEHIND)
  lost = fair[LEFT_BEHIND] - unfair[LEFT_BEHIND]
  lost_error = difference_standard_error(fair[LEFT_BEHIND], unfair[LEFT_BEHIND], size)
  worst = [str(group) for group, value in unfair.items() if value == min(unfair.values())]
  recovered = mended[LEFT_BEHIND] - unfair[LEFT_BEHIND]
  recovered_error = difference_standard_error(mended[LEFT_BEHIND], unfair[LEFT_BEHIND], size)

  def listing(accuracies: Dict[int, float]) -> str:
    return ", ".join(f"group {g} {markdown.percent(v)}" for g, v in accuracies.items())

  return [
      Answer("With fair participation (the same number of devices from every group each "
             "round), how well does the global model fit each group?",
             f"{listing(fair)}; spread {markdown.points(max(fair.values()) - min(fair.values()))}.",
             MEASURED),
      Answer(f"With unfair participation ({'/'.join(map(str, UNFAIR.values()))} devices per "
             f"group), which group is left behind, and by how much?",
             f"{listing(unfair)}. The worst: group {' and '.join(worst)}; group "
             f"{LEFT_BEHIND} (one device a round) loses {plus_minus(lost, lost_error)} "
             f"against fair participation.",
             sign_verdict(lost, lost_error) if str(LEFT_BEHIND) in worst else NOT_REPRODUCED,
             f"group {LEFT_BEHIND} left almost unfit under unfair participation."),
      Answer("Does weighting every group the same at the server (group-aware mean) "
             "mend it?",
             f"{listing(mended)}: group {LEFT_BEHIND} gains "
             f"{plus_minus(recovered, recovered_error)} over the plain mean under the same "
             f"unfair sampling.", MEASURED),
  ]


EXPERIMENT = CourseExperiment(
    name="group-fairness",
    title="Group non-IID CIFAR-10: fair against unfair participation",
    description=(
        "Devices of 500 images each belong to one of three groups of classes (0-2, 3-5, "
        "6-9; 30, 30 and 40 devices). Fair participation samples the same number of "
        "devices from every group each round (4/4/4); unfair participation samples "
        "10/2/1, so the server mostly hears from group 0. The third scenario keeps the "
        "unfair sampling but aggregates with the group-aware mean, which weighs each "
        "group the same whatever its number of devices. FedAvg, small ConvNet, E = 1, "
        "B = 20, lr 0.05; each group is tested on its own classes."),
    duration="30 min measured (50 rounds); --full and --assignment: 100 rounds, est. 1 h",
    arms=arms, report=report, questions=questions,
    assignment=(
        f"The assignment trains for {ASSIGNMENT_ROUNDS} rounds, as `--assignment` and "
        f"`--full` do; the default stops at 50 to finish in about half the time on 2 "
        f"cores. Groups, devices of 500 images and the fair and unfair counts are the "
        f"toolkit's (see the description)."))
