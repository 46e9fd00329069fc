"""What travels between the driver and its TFF workers in a round, in bytes (issue 19
point 6).

  python benchmarks/bench_wire_bytes.py --data-dir ../shared/data --append

FedAvg of McMahan's CNN (and of the 2NN) on MNIST, 100 clients IID with 10 sampled a
round, B = 10, E = 1, on 1, 2 and 3 local workers: the serialized gRPC requests the
driver sends and the responses it receives (`tff_course.runtime.wire_bytes`), in the
first round (which also creates the computation on each worker) and the median of the
next ones, against the model's size.
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# pylint: disable=wrong-import-position
from results_file import append_section
from tff_course.experiment.config import DataConfig, ExperimentConfig, TrainConfig
from tff_course.experiment.federation import (build_federation, build_process,
                                              initial_weights, model_bytes)
from tff_course.runtime.context import using_workers, wire_bytes
from tff_course.runtime.worker_set import worker_set

MODELS = ("mnist_cnn", "mnist_2nn")
MIB = 1 << 20


def config(model: str, workers: int) -> ExperimentConfig:
  return ExperimentConfig(
      name="wire", data=DataConfig(dataset="mnist", partition="iid", num_clients=100),
      train=TrainConfig(model=model, client_lr=0.05, epochs=1, batch_size=10,
                        client_fraction=0.1, workers=workers))


def round_bytes(data_dir: str, model: str, workers: int, rounds: int):
  """(model bytes, first round's WireBytes, the later rounds' median sent, received)."""
  run_config = config(model, workers)
  with using_workers(worker_set(workers)), \
      build_federation(run_config, data_dir=data_dir) as federation:
    process = build_process(federation)
    weights = initial_weights(federation)
    state = process.set_model_weights(process.initialize(), weights)
    counted = []
    for round_num in range(1, rounds + 1):
      before = wire_bytes()
      state = process.next(state, federation.client_data(federation.sample(round_num),
                                                         round_num)).state
      counted.append(wire_bytes() - before)
  later = counted[1:]
  return (model_bytes(weights), counted[0], float(np.median([c.sent for c in later])),
          float(np.median([c.received for c in later])))


def table(data_dir: str, counts, rounds: int) -> str:
  rows = []
  for model in MODELS:
    for count in counts:
      size, first, sent, received = round_bytes(data_dir, model, count, rounds)
      row = (f"| {model} | {size / MIB:.2f} | {count} | {first.sent / MIB:.2f} / "
             f"{first.received / MIB:.2f} | {sent / MIB:.2f} | {received / MIB:.2f} | "
             f"{sent / size:.2f} / {received / size:.2f} |")
      print(row, flush=True)
      rows.append(row)
  return ("| model | model (MiB) | workers | round 1 sent / received (MiB) | a later round: "
          "sent (MiB) | received (MiB) | sent / received, in models |\n"
          "|---|---|---|---|---|---|---|\n" + "\n".join(rows) +
          f"\n\nMNIST, 100 clients IID, 10 a round, B 10, E 1, FedAvg; later rounds: median "
          f"of rounds 2 to {rounds}. Serialized gRPC messages, counted on the driver "
          f"(gRPC's framing not included).")


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  parser.add_argument("--data-dir", required=True, help="holds mnist/")
  parser.add_argument("--workers", default="1,2,3", help="local worker counts")
  parser.add_argument("--rounds", type=int, default=4,
                      help="rounds a run; the first is reported apart (default: 4)")
  parser.add_argument("--append", action="store_true", help="add the table to RESULTS.md")
  args = parser.parse_args(argv)
  result = table(args.data_dir, [int(c) for c in args.workers.split(",")], args.rounds)
  print(result, flush=True)
  if args.append:
    append_section("Bytes between the driver and its TFF workers a round",
                   "python benchmarks/bench_wire_bytes.py --data-dir DIR --append", result)
  return 0


if __name__ == "__main__":
  sys.exit(main())
