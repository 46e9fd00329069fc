"""Quantized communication benchmark (issue 4): bytes per round and test accuracy after
100 rounds at 32, 16, 8, 4 and 2 bits on the CIFAR-10 preset (FedAvg, 100 IID devices,
10 per round, small ConvNet), over several training seeds. Target: 8 bits within 0.5
points of 32 bits at a quarter of the bytes.

  python benchmarks/bench_quantization.py --data-dir ../shared/data --seeds 0 1 2 --append

Each seed runs every width into OUT/seed-S (same partition, its own initial model,
client sampling and stochastic rounding). The gap to 32 bits is taken per seed (both
widths see the same test images and the same sampled clients) and averaged. The runs
are resumable: re-running the same command continues them.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Dict, List, Sequence

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

# pylint: disable=wrong-import-position
from tff_course.arguments import add_out
from tff_course.course import markdown, quantized
from tff_course.course.arms import Arm
from tff_course.course.experiment import CourseExperiment
from tff_course.course.results import Results
from tff_course.course.run import run_course_experiment
from results_file import append_section

BITS = (32, 16, 8, 4, 2)
TARGET_POINTS = 0.5


def seeded_arms(seed: int, rounds: int) -> List[Arm]:
  """Every width's arm at training seed `seed`."""
  return [arm.with_changes([f"train.seed={seed}"], None)
          for arm in quantized.quantized_arms(BITS, rounds)]


def run_seed(seed: int, args) -> Results:
  """Runs (or resumes) every width at one seed; its results."""
  run_dir = os.path.join(args.out, f"seed-{seed}")
  experiment = CourseExperiment(
      name="bench-quantization", title=f"Quantized FedAvg, {args.rounds} rounds, seed {seed}",
      description=quantized.EXPERIMENT.description, duration="",
      arms=lambda setting: seeded_arms(seed, args.rounds), report=quantized.report,
      questions=quantized.questions, assignment=quantized.EXPERIMENT.assignment)
  run_course_experiment(experiment, run_dir, data_dir=args.data_dir,
                        progress=not args.no_progress)
  return Results(run_dir, tuple(seeded_arms(seed, args.rounds)))


def accuracy_by_bits(per_seed: Sequence[Results]) -> Dict[int, np.ndarray]:
  """Final test accuracy per width, one entry per seed."""
  return {nbit: np.array([r.summary(f"bits-{nbit}").test_accuracy for r in per_seed])
          for nbit in BITS}


def mean_and_error(values: np.ndarray) -> str:
  """'m +- s' in points: the mean and its standard error (no error from one value)."""
  mean = 100 * values.mean()
  if len(values) < 2:
    return f"{mean:+.2f}"
  return f"{mean:+.2f} +- {100 * values.std(ddof=1) / np.sqrt(len(values)):.2f}"


def seeds_table(per_seed: Sequence[Results]) -> str:
  """Per width: bytes per round, accuracy per seed, mean, and the paired gap to 32 bits."""
  accuracy = accuracy_by_bits(per_seed)
  reference = per_seed[0].summary("bits-32")
  rows = []
  for nbit in BITS:
    summary = per_seed[0].summary(f"bits-{nbit}")
    per_round = summary.bytes_up / summary.rounds
    rows.append((f"{nbit}", markdown.megabytes(per_round),
                 f"{per_round / (reference.bytes_up / reference.rounds):.3f}",
                 " / ".join(markdown.percent(a) for a in accuracy[nbit]),
                 markdown.percent(accuracy[nbit].mean()),
                 mean_and_error(accuracy[nbit] - accuracy[32])))
  seeds = len(per_seed)
  return markdown.table(("bits", "uploaded per round", "of 32 bits",
                         f"test acc. per seed ({seeds})", "mean",
                         "difference to 32 bits, points (mean +- s.e.)"), rows)


def verdict(per_seed: Sequence[Results]) -> str:
  """Whether 8 bits are within TARGET_POINTS of 32 bits, on the seeds' mean paired gap
  (either side), at no more than a quarter of the bytes."""
  accuracy = accuracy_by_bits(per_seed)
  gaps = 100 * (accuracy[32] - accuracy[8])
  full, eight = per_seed[0].summary("bits-32"), per_seed[0].summary("bits-8")
  ratio = eight.bytes_up / full.bytes_up
  met = abs(gaps.mean()) <= TARGET_POINTS and ratio <= 0.25 + 1e-3
  side = "below" if gaps.mean() > 0 else "above"
  spread = (f", standard error {gaps.std(ddof=1) / np.sqrt(len(gaps)):.2f} points over "
            f"{len(gaps)} seeds" if len(gaps) > 1 else ", one seed")
  return (f"8 bits: on average {abs(gaps.mean()):.2f} points {side} 32 bits{spread}, at "
          f"{ratio:.3f} of its bytes: target {'MET' if met else 'MISSED'} (within "
          f"{TARGET_POINTS} points either side, at most a quarter of the bytes)")


def main() -> int:
  parser = argparse.ArgumentParser(description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--data-dir")
  parser.add_argument("--rounds", type=int, default=100)
  parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2],
                      help="training seeds (default: 0 1 2)")
  add_out(parser, "where the runs go (default: %(default)s)",
          default=os.path.join("runs", "bench", "quantization"), old=("--run-dir",))
  parser.add_argument("--no-progress", action="store_true")
  parser.add_argument("--append", action="store_true", help="append to RESULTS.md")
  args = parser.parse_args()
  from tff_course.runtime import install_context

  install_context(log_path=os.path.join(args.out, "worker.log"))
  per_seed = [run_seed(seed, args) for seed in args.seeds]
  text = seeds_table(per_seed) + "\n\n" + verdict(per_seed) + "\n"
  print(text)
  if args.append:
    seeds = " ".join(str(s) for s in args.seeds)
    append_section(f"Quantized communication, CIFAR-10 preset, {args.rounds} rounds, "
                   f"seeds {seeds}",
                   f"python benchmarks/bench_quantization.py --rounds {args.rounds} "
                   f"--seeds {seeds}", text)
  return 0


if __name__ == "__main__":
  sys.exit(main())
