"""One device with 10 % of CIFAR-10 against centralized training on all of it."""

from __future__ import annotations

from typing import List

from tff_course.course import cifar_configs, markdown
from tff_course.course.arms import Arm
from tff_course.course.experiment import CourseExperiment
from tff_course.course.figures import arm_curves
from tff_course.course.questions import (MEASURED, Answer, difference_standard_error,
                                         plus_minus, sign_verdict)
from tff_course.course.results import Results
from tff_course.course.settings import ASSIGNMENT, FULL

MOMENTUM = 0.9
PEAK_LR = 0.01
ASSIGNMENT_DEVICE_EPOCHS = 100
EPOCHS = {"default": (30, 10), FULL: (50, 50), ASSIGNMENT: (ASSIGNMENT_DEVICE_EPOCHS, 50)}
REFERENCE_DEVICE, REFERENCE_CENTRAL = 0.6455, 0.925


def arms(setting: str) -> List[Arm]:
  single_epochs, central_epochs = EPOCHS[setting]
  common = dict(lr=PEAK_LR, momentum=MOMENTUM, lr_schedule="cosine", warmup_epochs=1,
                batch_size=32)
  return [
      Arm("single-device", "one device (10 %)", cifar_configs.centralized(
          "single-device", examples=cifar_configs.SINGLE_DEVICE_EXAMPLES,
          epochs=single_epochs, **common)),
      Arm("centralized", "centralized (100 %)", cifar_configs.centralized(
          "centralized", examples=None, epochs=central_epochs, **common)),
  ]


def report(results: Results) -> List[str]:
  single, central = results.summary("single-device"), results.summary("centralized")
  single_images = int(results.metrics("single-device")["examples"][-1])
  central_images = int(results.metrics("centralized")["examples"][-1])
  return [
      "## Curves", arm_curves(results, ["single-device", "centralized"], "curves.png",
                              "One device vs centralized, CIFAR-10 (x axis: epochs)"),
      "## Result",
      f"Centralized training on {central_images:,} images ends "
      f"{markdown.points(central.test_accuracy - single.test_accuracy)} above one device "
      f"holding {single_images:,} "
      f"({markdown.percent(central.test_accuracy)} against "
      f"{markdown.percent(single.test_accuracy)}); the gap is what federated learning "
      f"tries to recover without moving the data."]


def questions(results: Results) -> List[Answer]:
  single, central = results.summary("single-device"), results.summary("centralized")
  gap = central.test_accuracy - single.test_accuracy
  error = difference_standard_error(central.test_accuracy, single.test_accuracy,
                                    results.test_size("single-device"))
  return [
      Answer("What test accuracy does one device reach, training alone on its 10 % of "
             "CIFAR-10?",
             f"{markdown.percent(single.test_accuracy)} after {single.rounds} epochs "
             f"(best {markdown.percent(single.best_test_accuracy)}).", MEASURED,
             f"{markdown.percent(REFERENCE_DEVICE)} with the assignment's deeper ConvNet "
             f"(batch normalization, data augmentation); not comparable in absolute terms "
             f"with the small ConvNet here."),
      Answer("How does it compare with a model trained centrally on all the data?",
             f"centralized {markdown.percent(central.test_accuracy)} after "
             f"{central.rounds} epochs: a gap of {plus_minus(gap, error)} in favour of "
             f"centralized training.", sign_verdict(gap, error),
             f"{markdown.percent(REFERENCE_CENTRAL)} centralized against "
             f"{markdown.percent(REFERENCE_DEVICE)} on one device "
             f"({markdown.points(REFERENCE_CENTRAL - REFERENCE_DEVICE)})."),
  ]


EXPERIMENT = CourseExperiment(
    name="single-device",
    title="One device with 10 % of CIFAR-10 against centralized training",
    description=(
        "The motivation for federated learning: a device that trains only on its own "
        "share of the data (10 %, IID) against a model trained centrally on all of it. "
        "Both use the small CIFAR ConvNet and SGD with momentum 0.9, a cosine learning "
        "rate (peak 0.01, one warm-up epoch) and batches of 32; a round is one epoch."),
    duration="26 min measured (30 and 10 epochs); --full: 50 and 50 epochs, est. 1.8 h; "
             "--assignment: 100 and 50 epochs, est. 2 h (2 shared cores, load 3 to 7)",
    arms=arms, report=report, questions=questions,
    assignment=(
        f"The assignment trains one device holding 10 % of CIFAR-10 for "
        f"{ASSIGNMENT_DEVICE_EPOCHS} epochs and compares it with the centralized model of "
        f"its first part. `--assignment` runs the device for {ASSIGNMENT_DEVICE_EPOCHS} "
        f"epochs and the centralized model for 50. The default runs 30 and 10 epochs, to "
        f"finish in minutes on 2 cores. "
        f"Every setting uses the toolkit's small ConvNet without data augmentation, where "
        f"the assignment's reference used a deeper ConvNet with batch normalization and "
        f"random crops and flips (the 92.5 % of its centralized model needs both and hours "
        f"of a GPU): compare gaps, not absolute accuracies."))
