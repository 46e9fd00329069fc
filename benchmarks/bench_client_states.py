"""The client-state store's cost (issue 18 point 10): seconds a round spends reading the
sampled clients' states, writing their new ones and committing the round, and the disk
it holds, for 1,000 clients (10 sampled a round) with states the size of SCAFFOLD's
controls for the MNIST 2NN (199,210 float32) and the Shakespeare LSTM (818,137).

  python benchmarks/bench_client_states.py --rounds 300 --append

Every round commits (a checkpoint every round, the worst case); the store keeps the
last three manifests. Reported: the median and the slowest round, and the disk used at
the end (every client that ever took part keeps its latest state).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# pylint: disable=wrong-import-position
from tff_course.experiment.client_states import ClientStateStore
from results_file import append_section

SIZES = {"MNIST 2NN (199,210)": (784 * 200 + 200, 200 * 200 + 200, 200 * 10 + 10),
         "Shakespeare LSTM (818,137)": (81 * 8, 8 * 1024 + 256 * 1024 + 1024,
                                        256 * 1024 * 2 + 1024, 256 * 81 + 81)}


def measure(shapes, clients: int, sampled: int, rounds: int, directory: str):
  """(median seconds a round, slowest, MiB on disk) of `rounds` store rounds."""
  def zeros():
    return [np.zeros(n, np.float32) for n in shapes]

  store = ClientStateStore(directory, {"kind": "benchmark", "shapes": list(shapes)}, zeros)
  rng = np.random.default_rng(0)
  times = []
  for round_num in range(1, rounds + 1):
    chosen = rng.choice(clients, sampled, replace=False)
    start = time.perf_counter()
    states = [store.get(int(c)) for c in chosen]
    for c, state in zip(chosen, states):
      store.put(int(c), [a + 1.0 for a in state], round_num)
    store.commit(round_num)
    times.append(time.perf_counter() - start)
  used = sum(os.path.getsize(os.path.join(directory, name)) for name in os.listdir(directory))
  return float(np.median(times)), float(np.max(times)), used / 2**20, len(store.clients())


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  parser.add_argument("--clients", type=int, default=1000)
  parser.add_argument("--sampled", type=int, default=10)
  parser.add_argument("--rounds", type=int, default=300)
  parser.add_argument("--append", action="store_true", help="add the table to RESULTS.md")
  args = parser.parse_args(argv)
  rows = []
  for name, shapes in SIZES.items():
    directory = tempfile.mkdtemp(prefix="bench-client-states-")
    try:
      median, slowest, mib, holders = measure(shapes, args.clients, args.sampled,
                                              args.rounds, directory)
    finally:
      shutil.rmtree(directory, ignore_errors=True)
    rows.append(f"| {name} | {args.clients:,} | {args.sampled} | {args.rounds} | "
                f"{1000 * median:.1f} | {1000 * slowest:.1f} | {holders:,} | {mib:,.0f} |")
    print(rows[-1], flush=True)
  table = ("| state (float32 values) | clients | sampled a round | rounds | median ms a round "
           "| slowest ms | clients holding a state | MiB on disk |\n|---|---|---|---|---|---|"
           "---|---|\n" + "\n".join(rows))
  if args.append:
    append_section(f"Client-state store: a round's reads, writes and commit at "
                   f"{args.clients:,} clients",
                   f"python benchmarks/bench_client_states.py --rounds {args.rounds} --append",
                   table)
  return 0


if __name__ == "__main__":
  sys.exit(main())
