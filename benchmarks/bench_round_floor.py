"""A FedAvg round against its compute floor, and on 1, 2 and 4 local TFF workers
(issue 19 point 5).

  python benchmarks/bench_round_floor.py --data-dir ../shared/data --append

The round: McMahan's CNN on MNIST, every client of the federation (10 x 600 examples or
100 x 60), B = 10, E = 1, lr 0.05, through the runner's own path (client record files,
packed client slots). The floor: the same SGD steps over the same examples in one
`tf.function` (a while loop over the clients around a while loop over their batches, held
in memory as tensors; each client starts from the global weights, the server takes the
mean of equal clients), no Keras `fit`, no tf.data, one client after another. The two
alternate in one process after one traced call each; medians.

  python benchmarks/bench_round_floor.py --data-dir ../shared/data --cores 1,2 --append

times the floor and the round on 1 and on n local workers with the benchmark (and the
workers it starts, which inherit its CPU affinity) held to n cores, each core count in a
fresh process: how a round scales as cores are added (issue 19 point 5's "N cores").
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# pylint: disable=wrong-import-position
from results_file import append_section
from tff_course.experiment.config import DataConfig, ExperimentConfig, TrainConfig
from tff_course.experiment.federation import build_federation, build_process, initial_weights
from tff_course.runtime.context import using_workers
from tff_course.runtime.worker_set import worker_set

SHAPES = ((10, 600), (100, 60))
BATCH = 10
LR = 0.05


def config(clients: int, examples: int, workers: int) -> ExperimentConfig:
  return ExperimentConfig(
      name="floor", data=DataConfig(dataset="mnist", partition="iid", num_clients=clients,
                                    limit=clients * examples),
      train=TrainConfig(model="mnist_cnn", client_lr=LR, epochs=1, batch_size=BATCH,
                        rounds=2, client_fraction=1.0, workers=workers))


def floor_fn(federation):
  """A tf.function: global weights -> the FedAvg round's new weights, computed by SGD
  over the clients' batches in one while loop."""
  import tensorflow as tf

  from tff_course.data.pipeline import model_inputs

  train = federation.dataset.train
  order = [np.asarray(d.indices)[:len(d.indices) // BATCH * BATCH] for d in federation.devices]
  inputs = tf.constant(model_inputs(train.x[np.concatenate(order)], federation.dataset.modality))
  labels = tf.constant(train.y[np.concatenate(order)].astype(np.int32))
  per_client = len(order[0]) // BATCH
  model = federation.build_keras_model()
  loss_fn = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)

  @tf.function
  def round_fn(global_weights):
    variables = model.trainable_variables

    def sgd_step(step, first):
      start = (first + step) * BATCH
      with tf.GradientTape() as tape:
        loss = loss_fn(labels[start:start + BATCH], model(inputs[start:start + BATCH]))
      for variable, gradient in zip(variables, tape.gradient(loss, variables)):
        variable.assign_sub(LR * gradient)
      return step + 1, first

    def client(index, total):
      for variable, value in zip(variables, global_weights):
        variable.assign(value)
      tf.while_loop(lambda step, _: step < per_client, sgd_step,
                    (tf.constant(0), index * per_client))
      return index + 1, [t + (v - g) for t, v, g in zip(total, variables, global_weights)]

    _, total = tf.while_loop(lambda index, _: index < len(order), client,
                             (tf.constant(0), [tf.zeros_like(w) for w in global_weights]))
    return [g + t / float(len(order)) for g, t in zip(global_weights, total)]

  return round_fn


def time_shape(data_dir: str, clients: int, examples: int, workers, repeats: int):
  """{"floor": s, workers count: s} medians for one federation shape."""
  import tensorflow as tf

  medians, floors = {}, []
  with build_federation(config(clients, examples, 1), data_dir=data_dir) as federation:
    round_fn = floor_fn(federation)
    weights = [tf.constant(w) for w in initial_weights(federation).trainable]
    round_fn(weights)
    for count in workers:
      federation_on = build_federation(config(clients, examples, count), data_dir=data_dir)
      with using_workers(worker_set(count)), federation_on as running:
        process = build_process(running)
        state = process.set_model_weights(process.initialize(), initial_weights(running))
        state = process.next(state, running.client_data(running.sample(1), 1)).state
        rounds = []
        for _ in range(repeats):
          start = time.perf_counter()
          process.next(state, running.client_data(running.sample(1), 1))
          rounds.append(time.perf_counter() - start)
          start = time.perf_counter()
          [w.numpy() for w in round_fn(weights)]
          floors.append(time.perf_counter() - start)
        medians[count] = float(np.median(rounds))
  medians["floor"] = float(np.median(floors))
  return medians


def pinned_medians(data_dir: str, cores: int, repeats: int) -> dict:
  """{(clients, examples): {"floor": s, 1: s, cores: s}} measured in a fresh process held
  to the first `cores` CPUs."""
  if cores > len(os.sched_getaffinity(0)):
    raise SystemExit(f"--cores: got {cores}, expected at most the "
                     f"{len(os.sched_getaffinity(0))} CPUs this process may use")
  with tempfile.TemporaryDirectory() as folder:
    path = os.path.join(folder, "medians.json")
    subprocess.run(
        [sys.executable, os.path.abspath(__file__), "--data-dir", data_dir, "--workers",
         ",".join(sorted({"1", str(cores)})), "--repeats", str(repeats), "--json", path],
        check=True, preexec_fn=lambda: os.sched_setaffinity(
            0, sorted(os.sched_getaffinity(0))[:cores]))
    with open(path, encoding="utf-8") as stream:
      return {tuple(map(int, shape.split("x"))): {
          (key if key == "floor" else int(key)): value for key, value in medians.items()}
              for shape, medians in json.load(stream).items()}


def cores_table(data_dir: str, core_counts, repeats: int) -> str:
  measured = {cores: pinned_medians(data_dir, cores, repeats) for cores in core_counts}
  rows = []
  for clients, examples in SHAPES:
    base = measured[core_counts[0]][clients, examples][1]
    for cores in core_counts:
      medians = measured[cores][clients, examples]
      cells = [f"{medians['floor']:.2f}", f"{medians[1]:.2f} ({base / medians[1]:.2f}x)",
               f"{medians[cores]:.2f} ({base / medians[cores]:.2f}x)"]
      rows.append(f"| {clients} x {examples} | {cores} | " + " | ".join(cells) + " |")
  return ("| clients x examples | cores | floor (s) | round on 1 worker (s, speed-up) | "
          "round on one worker a core (s, speed-up) |\n|---|---|---|---|---|\n" +
          "\n".join(rows) + f"\n\nMedians of {repeats}, round and floor alternating; "
          f"speed-ups against one worker on {core_counts[0]} core"
          f"{'s' if core_counts[0] > 1 else ''}; McMahan CNN, B {BATCH}, E 1; each core "
          f"count in a fresh process held to that many of this machine's "
          f"{os.cpu_count()} CPUs.")


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  parser.add_argument("--data-dir", required=True, help="holds mnist/")
  parser.add_argument("--workers", default="1,2,4", help="local worker counts to time")
  parser.add_argument("--repeats", type=int, default=5)
  parser.add_argument("--cores", help="comma-separated core counts: time 1 worker and one "
                      "worker a core with the benchmark held to each count (ignores "
                      "--workers)")
  parser.add_argument("--json", help=argparse.SUPPRESS)
  parser.add_argument("--append", action="store_true", help="add the table to RESULTS.md")
  args = parser.parse_args(argv)
  if args.cores:
    table = cores_table(args.data_dir, [int(part) for part in args.cores.split(",")],
                        args.repeats)
    print(table, flush=True)
    if args.append:
      append_section("A FedAvg round as cores are added: 1 worker and one worker a core",
                     f"python benchmarks/bench_round_floor.py --data-dir DIR --cores "
                     f"{args.cores} --append", table)
    return 0
  counts = [int(part) for part in args.workers.split(",")]
  if args.json:
    measured = {f"{clients}x{examples}": time_shape(args.data_dir, clients, examples, counts,
                                                    args.repeats)
                for clients, examples in SHAPES}
    with open(args.json, "w", encoding="utf-8") as stream:
      json.dump(measured, stream)
    return 0
  rows = []
  for clients, examples in SHAPES:
    medians = time_shape(args.data_dir, clients, examples, counts, args.repeats)
    floor = medians["floor"]
    rows.append(f"| {clients} x {examples} | {floor:.2f} | " + " | ".join(
        f"{medians[c]:.2f} ({medians[c] / floor:.2f}x)" for c in counts) + " |")
  table = ("| clients x examples | floor (s) | " +
           " | ".join(f"round on {c} worker{'s' if c > 1 else ''} (s, x floor)"
                      for c in counts) + " |\n|" + "---|" * (2 + len(counts)) + "\n" +
           "\n".join(rows) + f"\n\nMedians of {args.repeats}, round and floor alternating; "
           f"McMahan CNN, B {BATCH}, E 1, {os.cpu_count()} cores.")
  print(table, flush=True)
  if args.append:
    append_section("A FedAvg round against its compute floor, on 1, 2 and 4 workers",
                   "python benchmarks/bench_round_floor.py --data-dir DIR --append", table)
  return 0


if __name__ == "__main__":
  sys.exit(main())
