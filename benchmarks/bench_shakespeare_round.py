"""A Shakespeare FedAvg round against Keras `fit` on the same examples (issue 18 point
10): 10 of LEAF's natural clients each take J local Adam steps of 32 windows of the
character LSTM (trained as a language model); the same 10 x J batches, fitted by one Keras
model, are the centralized cost of that work.

  python benchmarks/bench_shakespeare_round.py --data-dir ../shared/data --append

Both sides are timed after a first call that traces them (TFF's round, Keras' train
function); the round's time includes TFF's client reading of the record files. Reported:
seconds, batches a second, and the round's overhead over `fit`.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# pylint: disable=wrong-import-position
from results_file import append_section
from tff_course.course import shakespeare_course
from tff_course.experiment.federation import build_federation, build_process, initial_weights

CLIENTS = 10


def _config(steps: int):
  arm = shakespeare_course.arms("default")[0].config
  train = dataclasses.replace(arm.train, steps=steps, rounds=2,
                              client_fraction=CLIENTS / shakespeare_course.USERS,
                              lr_schedule="constant", client_slots=2)
  return dataclasses.replace(arm, train=train)


def time_round(federation, repeats: int) -> float:
  """Median seconds of a FedAvg round of the federation's first round's clients (after
  one traced round)."""
  process = build_process(federation)
  state = process.set_model_weights(process.initialize(), initial_weights(federation))
  chosen = federation.sample(1)
  data = federation.client_data(chosen, 1)
  state = process.next(state, data).state
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    state = process.next(state, data).state
    times.append(time.perf_counter() - start)
  return float(np.median(times))


def time_fit(federation, steps: int, repeats: int) -> float:
  """Median seconds of Keras `fit` on the same clients' first `steps` batches each."""
  import tensorflow as tf

  train = federation.dataset.train
  batch = federation.config.train.batch_size
  rows = np.concatenate([np.resize(d.indices, steps * batch) for d in federation.sample(1)])
  model = federation.build_keras_model()
  model.compile(tf.keras.optimizers.Adam(federation.config.train.client_lr),
                tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True))
  model.fit(train.x[rows[:batch]], train.y[rows[:batch]], batch_size=batch, verbose=0)
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    model.fit(train.x[rows], train.y[rows], batch_size=batch, shuffle=False, verbose=0)
    times.append(time.perf_counter() - start)
  return float(np.median(times))


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  parser.add_argument("--data-dir", required=True, help="holds shakespeare-leaf/100.txt")
  parser.add_argument("--steps", type=int, default=20, help="local steps J per client")
  parser.add_argument("--repeats", type=int, default=3)
  parser.add_argument("--append", action="store_true", help="add the table to RESULTS.md")
  args = parser.parse_args(argv)
  config = _config(args.steps)
  with build_federation(config, data_dir=args.data_dir) as federation:
    fedavg = time_round(federation, args.repeats)
    fit = time_fit(federation, args.steps, args.repeats)
  batches = CLIENTS * args.steps
  table = ("| work | seconds | batches a second |\n|---|---|---|\n"
           f"| TFF FedAvg round, {CLIENTS} clients x {args.steps} steps | {fedavg:.1f} | "
           f"{batches / fedavg:.1f} |\n"
           f"| Keras `fit`, the same {batches} batches | {fit:.1f} | {batches / fit:.1f} |\n\n"
           f"The round costs {fedavg / fit:.2f} x `fit` (client slots: 2, as the runner "
           f"packs them).")
  print(table, flush=True)
  if args.append:
    append_section("Shakespeare: a FedAvg round of 10 clients against Keras fit",
                   f"python benchmarks/bench_shakespeare_round.py --data-dir DIR "
                   f"--steps {args.steps} --append", table)
  return 0


if __name__ == "__main__":
  sys.exit(main())
