"""One device with 10 % of CIFAR-10 against centralized training on all of it."""

from __future__ import annotations

from typing import List

from tff_course.course import cifar_configs, markdown
from tff_course.course.arms import Arm
from tff_course.course.experiment import CourseExperiment
from tff_course.course.results import Results
from tff_course.course.figures import arm_curves

MOMENTUM = 0.9
PEAK_LR = 0.01


def arms(full: bool) -> List[Arm]:
  single_epochs, central_epochs = (50, 50) if full else (30, 10)
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


EXPERIMENT = CourseExperiment(
    name="single-device",
    title="One device with 10 % of CIFAR-10 against centralized training",
    description=(
        "The motivation for federated learning: a device that trains only on its own "
        "share of the data (10 %, IID) against a model trained centrally on all of it. "
        "Both use the small CIFAR ConvNet and SGD with momentum 0.9, a cosine learning "
        "rate (peak 0.01, one warm-up epoch) and batches of 32; a round is one epoch."),
    duration="4.3 min measured (30 and 10 epochs); --full: 50 and 50 epochs, est. 16 min",
    arms=arms, report=report)
