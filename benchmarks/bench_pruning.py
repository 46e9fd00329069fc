"""Pruning benchmark (issue 5): the best competition score any method reaches on the
reference task, and the wall time of each method.

Trains the reference network (`pruning train`, 50 epochs) unless OUT/reference
holds it, runs the frontier (`pruning frontier`: every method at 0.5-0.98 sparsity
and tfmot's prune_low_magnitude as the reference line) into OUT/frontier, resuming
what is already there, and prints a markdown summary; with --append, adds it to
benchmarks/RESULTS.md. Target: best score above 0.80 (the course's full credit: 0.55).

  python benchmarks/bench_pruning.py --data-dir ../shared/data --out /tmp/pruning \\
      [--append]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from pruning import frontier  # pylint: disable=wrong-import-position
from pruning.cli import main as pruning_main  # pylint: disable=wrong-import-position
from pruning.reference import PARAMETER_COUNT  # pylint: disable=wrong-import-position
from tff_course.arguments import add_out  # pylint: disable=wrong-import-position
from results_file import append_section  # pylint: disable=wrong-import-position

TARGET_SCORE = 0.80


def run_pruning(*argv: str) -> None:
  status = pruning_main(list(argv))
  if status:
    raise SystemExit(f"pruning {argv[0]} failed with status {status}")


def reference_summary(directory: str) -> str:
  """The reference run's last epoch: accuracies and training time."""
  with open(os.path.join(directory, "metrics.csv"), newline="", encoding="utf-8") as stream:
    rows = list(csv.DictReader(stream))
  with open(os.path.join(directory, "config.json"), encoding="utf-8") as stream:
    config = json.load(stream)
  last = rows[-1]
  seconds = (f"{float(last['seconds']):.0f} s" if last.get("seconds") else
             "time not recorded in metrics.csv")
  data = config["data"]
  return (f"Reference network ({PARAMETER_COUNT:,} parameters), {last['epoch']} epochs "
          f"({seconds}): validation accuracy {float(last['val_accuracy']):.4f} "
          f"({data['validation']:,} held-out training images), test accuracy "
          f"{float(last['test_accuracy']):.4f} ({data['test']:,} test images of classes "
          f"{', '.join(data['classes'])}).")


def method_times(points) -> str:
  """Wall time per method: total over its sparsities and the mean per point."""
  lines = ["| method | points | total s | mean s per point |", "|---|---|---|---|"]
  for name in dict.fromkeys(p.method for p in points):
    own = [p for p in points if p.method == name]
    total = sum(p.seconds for p in own)
    lines.append(f"| {name} | {len(own)} | {total:.0f} | {total / len(own):.0f} |")
  return "\n".join(lines)


def best_summary(points) -> str:
  top, chosen = frontier.best(points), frontier.best(points, key="validation_score")
  if top is None:
    return "No method scored above 0 (test accuracy never above 0.6 with sparsity > 0)."
  verdict = "met" if top.score > TARGET_SCORE else "MISSED"
  return (f"Best score on test: **{top.score:.4f}** ({top.method} at sparsity "
          f"{top.sparsity:.4f}, test accuracy {top.test_accuracy:.4f}); target > "
          f"{TARGET_SCORE}: {verdict}. Chosen by validation score instead (no look at "
          f"test): {chosen.method} at sparsity {chosen.sparsity:.4f}, validation "
          f"{chosen.validation_accuracy:.4f}, test score {chosen.score:.4f}.")


def main() -> int:
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
  parser.add_argument("--data-dir", help="directory with cifar10/ (default: "
                                         "$TFF_COURSE_DATA_DIR)")
  add_out(parser, "where the reference run and the frontier go (default: %(default)s)",
          default="runs/bench-pruning", old=("--work-dir",))
  parser.add_argument("--append", action="store_true", help="append to benchmarks/RESULTS.md")
  args = parser.parse_args()
  data_dir = ["--data-dir", args.data_dir] if args.data_dir else []
  reference_dir = os.path.join(args.out, "reference")
  model = os.path.join(reference_dir, "reference.h5")
  if not os.path.isfile(model):
    run_pruning("train", "--out", reference_dir, *data_dir)
  frontier_dir = os.path.join(args.out, "frontier")
  run_pruning("frontier", model, "--out", frontier_dir, *data_dir)
  points = frontier.resume_points(frontier_dir)
  report = "\n\n".join([reference_summary(reference_dir), best_summary(points),
                        "Wall time per method (all six sparsities):", method_times(points),
                        "Frontier (★ best test score of our methods; val-best: best "
                        "validation score):", frontier.markdown_table(points)])
  print(report)
  if args.append:
    append_section("Pruning (issue 5)", f"python benchmarks/bench_pruning.py --data-dir DIR "
                   f"--out {args.out} --append", report)
  return 0


if __name__ == "__main__":
  sys.exit(main())
