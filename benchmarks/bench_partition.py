"""Partitioner speed on the 60,000 MNIST training labels: 100 and 10,000 clients
(and the natural partition of Shakespeare's ~800,000 training windows by role).

Target (issue 2): every partitioner under 1 s at both sizes. Prints a markdown table;
with --append, adds it with date and machine to benchmarks/RESULTS.md.

  python benchmarks/bench_partition.py --data-dir ../shared/data [--append]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tff_course.data import load_dataset  # pylint: disable=wrong-import-position
from tff_course.partition import make_partition  # pylint: disable=wrong-import-position
from results_file import append_section  # pylint: disable=wrong-import-position

TARGET_SECONDS = 1.0
GROUPS = {0: [0, 1, 2], 1: [3, 4, 5], 2: [6, 7, 8, 9]}


def settings(num_clients: int) -> dict:
  """Each partitioner's arguments for `num_clients` clients of MNIST."""
  per_client = 60000 // num_clients
  return {
      "iid": dict(num_clients=num_clients, samples_per_client=per_client),
      "shards (2 per client)": dict(num_clients=num_clients),
      "classes (N=2)": dict(num_clients=num_clients, classes_per_client=2),
      "dirichlet (alpha=0.5, min_size=0)": dict(num_clients=num_clients, alpha=0.5,
                                                 min_size=0),
      "groups (3 groups)": dict(samples_per_client=per_client, groups=GROUPS),
  }


def time_call(call, repeats: int) -> tuple:
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    result = call()
    times.append(time.perf_counter() - start)
  return statistics.median(times), max(times), result


def main() -> int:
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
  parser.add_argument("--data-dir", help="directory with mnist/ (default: $TFF_COURSE_DATA_DIR)")
  parser.add_argument("--repeats", type=int, default=5)
  parser.add_argument("--append", action="store_true", help="append to benchmarks/RESULTS.md")
  args = parser.parse_args()
  labels = load_dataset("mnist", data_dir=args.data_dir).train.y
  rows = ["| partitioner | clients | median s | max s | clients made | target < 1 s |",
          "|---|---|---|---|---|---|"]
  for num_clients in (100, 10_000):
    for name, kwargs in settings(num_clients).items():
      kind = name.split()[0]
      median, worst, partition = time_call(lambda: make_partition(kind, labels, **kwargs),
                                           args.repeats)
      verdict = "met" if worst < TARGET_SECONDS else "MISSED"
      rows.append(f"| {name} | {num_clients:,} | {median:.3f} | {worst:.3f} | "
                  f"{len(partition):,} | {verdict} |")
  roles = load_dataset("shakespeare", data_dir=args.data_dir).train
  median, worst, partition = time_call(lambda: make_partition("natural", roles),
                                       args.repeats)
  rows.append(f"| natural (Shakespeare roles, {len(roles):,} windows) | {len(partition)} | "
              f"{median:.3f} | {worst:.3f} | {len(partition):,} | "
              f"{'met' if worst < TARGET_SECONDS else 'MISSED'} |")
  table = "\n".join(rows)
  print(table)
  if args.append:
    append_section("Partitioners on 60,000 MNIST labels", "make bench",
                   f"{args.repeats} repeats each; median and worst wall time.\n\n{table}")
  return 0


if __name__ == "__main__":
  sys.exit(main())
