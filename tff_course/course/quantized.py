"""Quantized communication: FedAvg on IID CIFAR-10 with updates sent at n bits."""

from __future__ import annotations

from typing import List, Sequence

from tff_course.course import cifar_configs, markdown
from tff_course.course.arms import Arm
from tff_course.course.experiment import CourseExperiment
from tff_course.course.results import Results
from tff_course.course.figures import arm_curves
from tff_course.course.questions import (MEASURED, WITHIN_NOISE, Answer,
                                         accuracy_standard_error, bound_verdict,
                                         difference_standard_error, equal_verdict,
                                         plus_minus)
from tff_course.course.settings import DEFAULT
from tff_course.plots import plot_lines

BITS = (32, 16, 4)
ASSIGNMENT_ROUNDS = 100
WITHIN_4_BITS = 0.01
CHANCE = 0.1


def quantized_arms(bits: Sequence[int], rounds: int) -> List[Arm]:
  """One FedAvg run per bit width, stochastic rounding, the first width the reference."""
  return [Arm(f"bits-{nbit}", f"{nbit} bits", cifar_configs.fedavg_iid(
      f"quantized-{nbit}", rounds=rounds, aggregator="quantized", quant_bits=nbit))
          for nbit in bits]


def arms(setting: str) -> List[Arm]:
  return quantized_arms(BITS, 40 if setting == DEFAULT else ASSIGNMENT_ROUNDS)


def report(results: Results) -> List[str]:
  reference = results.arms[0]
  paths = [results.path(arm.key) for arm in results.arms]
  labels = [arm.label for arm in results.arms]
  accuracy = plot_lines([(path, "test_accuracy", label) for path, label in
                         zip(paths, labels)], results.path("accuracy.png"),
                        ylabel="test accuracy", title="Test accuracy per bit width")
  return ["## Accuracy", markdown.image(results, accuracy, "test accuracy per bit width"),
          "## Curves and difference to the reference",
          arm_curves(results, [arm.key for arm in results.arms], "curves.png",
                     "Quantized FedAvg updates, CIFAR-10", baseline=reference.key),
          "## Accuracy against bytes", bits_table(results)]


def bits_table(results: Results) -> str:
  """Upload per round, its fraction of the reference's, final accuracy and difference."""
  reference = results.summary(results.arms[0].key)
  rows = []
  for arm in results.arms:
    summary = results.summary(arm.key)
    per_round = summary.bytes_up / summary.rounds
    rows.append((arm.label, markdown.megabytes(per_round),
                 f"{per_round / (reference.bytes_up / reference.rounds):.3f}",
                 markdown.percent(summary.test_accuracy),
                 markdown.points(summary.test_accuracy - reference.test_accuracy)))
  return markdown.table(("bits", "uploaded per round", f"of {results.arms[0].label}",
                         "final test acc.", f"difference to {results.arms[0].label}"), rows)


def above_chance(accuracy: float, test_examples: int) -> bool:
  """Whether a CIFAR-10 accuracy is more than two standard errors above chance."""
  return accuracy - CHANCE > 2 * accuracy_standard_error(CHANCE, test_examples)


def questions(results: Results) -> List[Answer]:
  reference = results.summary("bits-32")

  def against_32(bits: int):
    summary = results.summary(f"bits-{bits}")
    difference = summary.test_accuracy - reference.test_accuracy
    error = difference_standard_error(summary.test_accuracy, reference.test_accuracy,
                                      results.test_size(f"bits-{bits}"))
    return summary, difference, error

  half, half_gap, half_error = against_32(16)
  low, low_gap, low_error = against_32(4)
  learned = above_chance(reference.test_accuracy, results.test_size("bits-32"))
  caveat = "" if learned else (
      f" The 32-bit model is still at chance ({markdown.percent(CHANCE)}): there is "
      f"nothing yet to tell apart, so no verdict either way.")
  return [
      Answer("Can you tell 16-bit updates from 32-bit ones in test accuracy?",
             f"16 bits {markdown.percent(half.test_accuracy)} against 32 bits "
             f"{markdown.percent(reference.test_accuracy)}: {plus_minus(half_gap, half_error)}"
             f".{caveat}", equal_verdict(half_gap, half_error) if learned else WITHIN_NOISE,
             "16-bit indistinguishable from 32-bit."),
      Answer("How much accuracy do 4-bit updates cost?",
             f"4 bits {markdown.percent(low.test_accuracy)}: "
             f"{plus_minus(low_gap, low_error)} against 32 bits.{caveat}",
             bound_verdict(low_gap, WITHIN_4_BITS, low_error) if learned else WITHIN_NOISE,
             "4-bit within 1 point of 32-bit."),
      Answer("How much communication does each save?",
             "uploaded per round: 32 bits "
             f"{markdown.megabytes(reference.bytes_up / reference.rounds)}"
             f", 16 bits {markdown.megabytes(half.bytes_up / half.rounds)} "
             f"({half.bytes_up / reference.bytes_up:.3f} of it), 4 bits "
             f"{markdown.megabytes(low.bytes_up / low.rounds)} "
             f"({low.bytes_up / reference.bytes_up:.3f}; each tensor's scale is sent too).",
             MEASURED),
  ]


EXPERIMENT = CourseExperiment(
    name="quantized",
    title="Quantized communication: FedAvg updates at 32, 16 and 4 bits",
    description=(
        "FedAvg on 100 IID CIFAR-10 devices (10 per round, small ConvNet, E = 1, B = 20, "
        "lr 0.05) where every client's update is quantized to n bits with stochastic "
        "rounding and a per-tensor scale (tff_course.aggregators.QuantizedMeanFactory) "
        "before the server averages it. The bytes come from the aggregator's own "
        "accounting of what each client sent."),
    duration="10 min measured (40 rounds); --full and --assignment: 100 rounds, est. 25 min",
    arms=arms, report=report, questions=questions,
    assignment=(
        f"The assignment quantizes to 32, 16 and 4 bits over {ASSIGNMENT_ROUNDS} rounds, as "
        f"`--assignment` and `--full` do; the default stops at 40 rounds to finish in "
        f"about 10 minutes on 2 shared cores."))
