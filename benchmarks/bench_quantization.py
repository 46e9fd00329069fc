"""Quantized communication benchmark (issue 4): bytes per round and test accuracy after
100 rounds at 32, 16, 8, 4 and 2 bits on the CIFAR-10 preset (FedAvg, 100 IID devices,
10 per round, small ConvNet). Target: 8 bits within 0.5 points of 32 bits at a quarter
of the bytes.

  python benchmarks/bench_quantization.py --data-dir ../shared/data --append

The runs are resumable: re-running the same command continues them (--run-dir).
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

# pylint: disable=wrong-import-position
from tff_course.course import quantized
from tff_course.course.experiment import CourseExperiment
from tff_course.course.results import Results
from tff_course.course.run import run_course_experiment
from results_file import append_section

BITS = (32, 16, 8, 4, 2)
TARGET_POINTS = 0.5


def verdict(results: Results) -> str:
  """Whether 8 bits are within TARGET_POINTS of 32 bits at no more than a quarter of
  the bytes."""
  full, eight = results.summary("bits-32"), results.summary("bits-8")
  gap = 100 * (full.test_accuracy - eight.test_accuracy)
  ratio = eight.bytes_up / full.bytes_up
  met = gap <= TARGET_POINTS and ratio <= 0.25 + 1e-3
  side = "below" if gap > 0 else "above"
  return (f"8 bits: {abs(gap):.2f} points {side} 32 bits at {ratio:.3f} of its bytes: "
          f"target {'MET' if met else 'MISSED'} (one seed: compare the gap with the standard "
          f"error that report.md gives for the test split; gaps under about twice it are "
          f"within chance)")


def main() -> int:
  parser = argparse.ArgumentParser(description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--data-dir")
  parser.add_argument("--rounds", type=int, default=100)
  parser.add_argument("--run-dir", default=os.path.join("runs", "bench", "quantization"))
  parser.add_argument("--append", action="store_true", help="append to RESULTS.md")
  args = parser.parse_args()
  from tff_course.runtime import install_context

  install_context(log_path=os.path.join(args.run_dir, "worker.log"))
  experiment = CourseExperiment(
      name="bench-quantization", title=f"Quantized FedAvg, {args.rounds} rounds",
      description=quantized.EXPERIMENT.description, duration="",
      arms=lambda full: quantized.quantized_arms(BITS, args.rounds),
      report=quantized.report)
  report = run_course_experiment(experiment, args.run_dir, data_dir=args.data_dir)
  results = Results(args.run_dir, tuple(quantized.quantized_arms(BITS, args.rounds)))
  text = quantized.bits_table(results) + "\n\n" + verdict(results) + "\n"
  print(text + f"report: {report}")
  if args.append:
    append_section(f"Quantized communication, CIFAR-10 preset, {args.rounds} rounds",
                   f"python benchmarks/bench_quantization.py --rounds {args.rounds}", text)
  return 0


if __name__ == "__main__":
  sys.exit(main())
