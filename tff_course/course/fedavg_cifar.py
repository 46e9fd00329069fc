"""FedAvg on CIFAR-10 with IID devices, 10 % of them per round, against one device."""

from __future__ import annotations

from typing import List

from tff_course.course import cifar_configs, markdown
from tff_course.course.arms import Arm
from tff_course.course.experiment import CourseExperiment
from tff_course.course.results import Results
from tff_course.course.figures import arm_curves
from tff_course.course.questions import (MEASURED, Answer, difference_standard_error,
                                         plus_minus)
from tff_course.course.settings import FULL

ROUNDS = 100


def arms(setting: str) -> List[Arm]:
  epochs = 5 if setting == FULL else 1
  return [
      Arm("fedavg", f"FedAvg (E={epochs})",
          cifar_configs.fedavg_iid("fedavg-cifar", rounds=ROUNDS, epochs=epochs)),
      Arm("single-device", "one device (10 %)", cifar_configs.centralized(
          "single-device", examples=cifar_configs.SINGLE_DEVICE_EXAMPLES,
          epochs=ROUNDS * epochs), rounds_per_round=epochs),
  ]


def report(results: Results) -> List[str]:
  epochs = results.arm("fedavg").config.train.epochs
  fedavg, single = results.summary("fedavg"), results.summary("single-device")
  round_images = int(results.metrics("fedavg")["examples"][-1])
  single_images = int(results.metrics("single-device")["examples"][-1])
  per_round = fedavg.bytes_up / fedavg.rounds if fedavg.bytes_up and fedavg.rounds else None
  return [
      "## Curves", arm_curves(results, ["fedavg", "single-device"], "curves.png",
                              "FedAvg (rounds) vs one device (epochs), CIFAR-10",
                              baseline="single-device" if epochs == 1 else None),
      "## Result",
      f"After {fedavg.rounds} rounds FedAvg reaches {markdown.percent(fedavg.test_accuracy)}"
      f" test accuracy, {markdown.points(fedavg.test_accuracy - single.test_accuracy)} "
      f"against one device's {markdown.percent(single.test_accuracy)} after {single.rounds} "
      f"passes over its {single_images:,} images. Each FedAvg round trains {epochs} "
      f"epoch(s) on {round_images:,} images of the devices sampled that round, and the "
      f"clients send {markdown.megabytes(per_round)} of updates a round."]


def questions(results: Results) -> List[Answer]:
  fedavg, single = results.summary("fedavg"), results.summary("single-device")
  gain = fedavg.test_accuracy - single.test_accuracy
  error = difference_standard_error(fedavg.test_accuracy, single.test_accuracy,
                                    results.test_size("fedavg"))
  columns = results.metrics("fedavg")
  clients = int(columns["clients"][0])
  return [
      Answer(f"What test accuracy does FedAvg reach after {fedavg.rounds} rounds with "
             f"{clients} of the devices taking part each round?",
             f"{markdown.percent(fedavg.test_accuracy)} (best "
             f"{markdown.percent(fedavg.best_test_accuracy)}).", MEASURED),
      Answer("Does federated training recover what a single device loses?",
             f"FedAvg ends {plus_minus(gain, error)} against one device trained alone for "
             f"{single.rounds} epochs ({markdown.percent(single.test_accuracy)}), without "
             f"any device sharing its images.", MEASURED),
      Answer("What does it cost in communication?",
             f"{markdown.count(fedavg.messages)} messages (both ways) and "
             f"{markdown.megabytes(fedavg.bytes_up)} uploaded over {fedavg.rounds} rounds, "
             f"{markdown.megabytes(fedavg.bytes_up / max(fedavg.rounds, 1))} a round.",
             MEASURED),
  ]


EXPERIMENT = CourseExperiment(
    name="fedavg-cifar",
    title="FedAvg on CIFAR-10 (IID devices, 10 % per round) against one device",
    description=(
        "100 devices hold 500 IID CIFAR-10 training images each; every round 10 of them "
        "(device_pct 0.1) train the small ConvNet locally (SGD, lr 0.05, B = 20) and the "
        "server averages their weights, for 100 rounds. The baseline is one device with "
        "10 % of the data trained with the same optimizer for as many epochs as FedAvg "
        "has rounds (times E)."),
    duration="11 min measured (E = 1); --full: E = 5, est. 55 min; --assignment: as "
             "the default",
    arms=arms, report=report, questions=questions,
    assignment=(
        f"The assignment runs FedAvg for {ROUNDS} rounds with 10 % of the devices taking "
        f"part each round, as the default does: `--assignment` and the default are the "
        f"same runs. `--full` gives every device 5 local epochs a round instead of 1. "
        f"The model is the toolkit's small ConvNet (see the single-device experiment)."))
