"""Federated training benchmarks (issue 3). Each writes a section to RESULTS.md with --append.

  rounds    rounds to 99 % MNIST test accuracy: McMahan's CNN, FedAvg E=5 B=10 C=0.1 on
            100 IID clients of 600 (paper: 20; target <= 25), and FedSGD in a capped budget
  overhead  one FedAvg round / plain Keras fit over the same examples and batch size,
            at 10 clients x 600 and 100 clients x 60 (target <= 1.3)
  memory    resident memory at round 300 vs round 30 (target within 10 %)

  python benchmarks/bench_federated.py rounds --data-dir ../shared/data --append
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

# pylint: disable=wrong-import-position
from tff_course.experiment.config import DataConfig, ExperimentConfig, TrainConfig
from results_file import append_section



def mnist_config(name, **train) -> ExperimentConfig:
  return ExperimentConfig(
      name=name, data=DataConfig(dataset="mnist", partition="iid", num_clients=100,
                                 samples_per_client=600),
      train=TrainConfig(model="mnist_cnn", client_fraction=0.1, checkpoint_every=1000,
                        **train))


def rounds_to_target(args) -> tuple:
  from tff_course.experiment.runner import run_experiment
  from tff_course.experiment.metrics_file import read_metrics

  rows = ["| algorithm | setting | rounds run | first round >= 99 % | best accuracy | s/round |",
          "|---|---|---|---|---|---|"]
  for name, train, cap in (
      ("FedAvg", dict(algorithm="fedavg", epochs=5, batch_size=10, client_lr=args.lr),
       args.fedavg_rounds),
      ("FedSGD", dict(algorithm="fedsgd", client_lr=args.fedsgd_lr), args.fedsgd_rounds)):
    config = mnist_config(f"bench-{name}", rounds=cap, **train)
    run_dir = tempfile.mkdtemp(prefix=f"bench-{name}-")
    start = time.perf_counter()
    run_experiment(config, run_dir, data_dir=args.data_dir, progress=True)
    seconds = (time.perf_counter() - start) / cap
    accuracy = read_metrics(run_dir)["test_accuracy"]
    hits = [i + 1 for i, a in enumerate(accuracy) if a >= 0.99]
    reached = hits[0] if hits else None

    setting = ", ".join(f"{k}={v}" for k, v in train.items() if k != "algorithm")
    rows.append(f"| {name} | {setting} | {cap} | {reached or 'not reached'} | "
                f"{max(accuracy):.4f} | {seconds:.1f} |")
  return ("Rounds to 99 % MNIST test accuracy (McMahan CNN, 100 IID clients x 600, C=0.1; "
          "paper: FedAvg 20 rounds, FedSGD 626; target FedAvg <= 25)", rows)


def overhead(args) -> tuple:
  import numpy as np
  import tensorflow as tf

  from tff_course.experiment.federation import build_federation, build_process, initial_weights

  rows = ["| clients x examples | Keras fit s | FedAvg round s, one call per client | ratio "
          "| FedAvg round s, 2 packed calls (default) | ratio | target <= 1.3 |",
          "|---|---|---|---|---|---|---|"]
  for clients, per_client in ((10, 600), (100, 60)):
    timings = {}
    for slots in (0, 2):
      config = ExperimentConfig(
          name="overhead", data=DataConfig(dataset="mnist", partition="iid",
                                           num_clients=clients, samples_per_client=per_client),
          train=TrainConfig(model="mnist_cnn", client_fraction=1.0, batch_size=10, epochs=1,
                            client_lr=0.05, client_slots=slots))
      with build_federation(config, data_dir=args.data_dir) as federation:
        process = build_process(federation)
        state = process.set_model_weights(process.initialize(), initial_weights(federation))
        indices = np.concatenate([d.indices for d in federation.devices])
        x = federation.dataset.train.x[indices].astype(np.float32) / 255.0
        y = federation.dataset.train.y[indices]
        model = federation.build_keras_model()
        model.compile(tf.keras.optimizers.SGD(0.05),
                      tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        round_times, fit_times = [], []
        for round_num in range(1, args.repeats + 2):
          data = federation.client_data(federation.devices, round_num)
          start = time.perf_counter()
          state = process.next(state, data).state
          round_times.append(time.perf_counter() - start)
          start = time.perf_counter()
          model.fit(x, y, batch_size=10, epochs=1, verbose=0)
          fit_times.append(time.perf_counter() - start)
      timings[slots] = (float(np.median(round_times[1:])), float(np.median(fit_times[1:])))
    keras = float(np.median([fit for _, fit in timings.values()]))
    plain, packed = timings[0][0] / timings[0][1], timings[2][0] / timings[2][1]
    rows.append(f"| {clients} x {per_client} | {keras:.2f} | {timings[0][0]:.2f} | "
                f"{plain:.2f} | {timings[2][0]:.2f} | {packed:.2f} | "
                f"{'met' if packed <= 1.3 else 'MISSED'} |")
  return ("Federated overhead: one FedAvg round / Keras fit on the same examples (McMahan "
          f"CNN, B=10, E=1; rounds and fits alternate, each ratio against the fits timed "
          f"beside it; medians of {args.repeats} after a warm-up)", rows)


def memory(args) -> tuple:
  from tff_course.experiment.runner import run_experiment

  samples = {}

  def record(round_num):
    if round_num in (30, 100, 200, 300):
      samples[round_num] = _rss_mib()

  config = ExperimentConfig(
      name="memory", data=DataConfig(dataset="mnist", partition="iid", num_clients=100,
                                     samples_per_client=60),
      train=TrainConfig(model="mnist_2nn", rounds=300, client_fraction=0.1, batch_size=10,
                        eval_every=10, checkpoint_every=50))
  run_experiment(config, tempfile.mkdtemp(prefix="bench-memory-"), data_dir=args.data_dir,
                 on_round_end=record)
  growth = samples[300] / samples[30] - 1
  rows = ["| round | driver RSS MiB | worker RSS MiB |", "|---|---|---|"]
  rows += [f"| {r} | {d:.0f} | {w:.0f} |" for r, (d, w) in sorted(samples.items())]
  verdict = "met" if abs(growth[0]) <= 0.10 and abs(growth[1]) <= 0.10 else "MISSED"
  rows.append(f"| growth 30 -> 300 | {growth[0]:+.1%} | {growth[1]:+.1%} ({verdict}) |")
  return ("Memory over 300 rounds (MNIST 2NN, 100 clients x 60, 10 per round, B=10)", rows)


def _rss_mib():
  import numpy as np

  from tff_course.runtime import ensure_worker

  def rss(pid):
    with open(f"/proc/{pid}/status", encoding="utf-8") as stream:
      for line in stream:
        if line.startswith("VmRSS:"):
          return int(line.split()[1]) / 1024
    return float("nan")

  return np.array([rss(os.getpid()), rss(ensure_worker().pid)])


def main() -> int:
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
  parser.add_argument("benchmark", choices=("rounds", "overhead", "memory"))
  parser.add_argument("--data-dir")
  parser.add_argument("--append", action="store_true")
  parser.add_argument("--repeats", type=int, default=3)
  parser.add_argument("--lr", type=float, default=0.05, help="FedAvg client learning rate")
  parser.add_argument("--fedsgd-lr", type=float, default=0.5)
  parser.add_argument("--fedavg-rounds", type=int, default=25)
  parser.add_argument("--fedsgd-rounds", type=int, default=100)
  args = parser.parse_args()
  title, rows = {"rounds": rounds_to_target, "overhead": overhead, "memory": memory}[
      args.benchmark](args)
  table = "\n".join(rows)
  print(table)
  if args.append:
    append_section(title, f"python benchmarks/bench_federated.py {args.benchmark}", table)
  return 0


if __name__ == "__main__":
  sys.exit(main())
