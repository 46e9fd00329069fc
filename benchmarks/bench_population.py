"""Populations of 100, 1,000 and 10,000 clients with 10 sampled a round, and a run's
memory over 300 rounds on 2 local TFF workers (issue 19 points 4 and 7).

  python benchmarks/bench_population.py --data-dir ../shared/data --append

Three federations, each through the runner's own path (`run_experiment`: client record
files, sampling, checkpoints, the metrics file): MNIST split Dirichlet(0.3) over the
population (FedAvg, McMahan's CNN), FedProx's Synthetic(1, 1) with one device a client
(FedProx mu 1, logistic regression), and two that hold the clients themselves fixed
while the population grows: MNIST split IID with 6 examples a client, and MNIST's first
6 x population examples split Dirichlet(0.3) (6 a client on average, the clients of the
10,000-client split at every population). Every client takes 10 local steps of B = 10,
wrapping around its examples; a client with fewer than 10 examples trains on smaller
batches, so with all of MNIST split Dirichlet the examples a round (and its compute)
shrink as the population grows and its clients get smaller. The test set is
scored only in the last round, which the round medians leave out (MNIST's test split is
fixed, but Synthetic's grows with the population). Loading the data is timed apart from building
the federation (partition, devices, client choice), since generating Synthetic is
proportional to its devices by nature.

The memory run: MNIST with the largest population on 2 workers for 300 rounds, the
resident memory of the driver and of its worker processes after rounds 1 and 10 and
every sixth of the run.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# pylint: disable=wrong-import-position
from results_file import append_section
from tff_course.experiment.config import DataConfig, ExperimentConfig, TrainConfig
from tff_course.experiment.federation import build_federation, load_config_dataset
from tff_course.experiment.metrics_file import read_metrics
from tff_course.experiment.runner import run_experiment

POPULATIONS = (100, 1000, 10000)
SAMPLED = 10
STEPS = 10
SETTINGS = {"mnist": "MNIST Dirichlet(0.3)", "synthetic": "Synthetic(1, 1)",
            "mnist_equal": "MNIST IID, 6 a client",
            "mnist_scaled": "MNIST Dirichlet(0.3), 6 a client on average"}
EQUAL_EXAMPLES = 6


def config(setting: str, population: int, rounds: int, data_dir: str,
           workers: int = 1) -> ExperimentConfig:
  """The run for `setting` (one of SETTINGS) at `population` clients; about 10 sampled a
  round (the fraction leaves room for clients a draw leaves empty)."""
  fraction = min(1.0, (SAMPLED + 0.5) / population)
  train = dict(epochs=None, steps=STEPS, batch_size=10, rounds=rounds, eval_every=rounds,
               checkpoint_every=max(1, rounds // 4), client_fraction=fraction,
               workers=workers)
  if setting == "mnist":
    return ExperimentConfig(
        name=f"mnist-{population}",
        data=DataConfig(dataset="mnist", data_dir=data_dir, partition="dirichlet",
                        num_clients=population, alpha=0.3, min_size=0),
        train=TrainConfig(model="mnist_cnn", client_lr=0.05, **train))
  if setting == "mnist_scaled":
    return ExperimentConfig(
        name=f"mnist-scaled-{population}",
        data=DataConfig(dataset="mnist", data_dir=data_dir, partition="dirichlet",
                        num_clients=population, alpha=0.3, min_size=0,
                        limit=EQUAL_EXAMPLES * population),
        train=TrainConfig(model="mnist_cnn", client_lr=0.05, **train))
  if setting == "mnist_equal":
    return ExperimentConfig(
        name=f"mnist-equal-{population}",
        data=DataConfig(dataset="mnist", data_dir=data_dir, partition="iid",
                        num_clients=population, samples_per_client=EQUAL_EXAMPLES),
        train=TrainConfig(model="mnist_cnn", client_lr=0.05, **train))
  return ExperimentConfig(
      name=f"synthetic-{population}",
      data=DataConfig(dataset="synthetic", partition="natural",
                      options={"num_devices": population}),
      train=TrainConfig(model="logistic", algorithm="fedprox", mu=1.0, client_lr=0.01,
                        **train))


def time_population(setting: str, population: int, rounds: int, data_dir: str):
  """(data load s, federation build s, clients, sampled, median examples a round,
  median round s)."""
  run_config = config(setting, population, rounds, data_dir)
  start = time.perf_counter()
  dataset = load_config_dataset(run_config)
  loaded = time.perf_counter()
  with build_federation(run_config, dataset=dataset) as federation:
    built = time.perf_counter()
    clients = len(federation.devices)
  with tempfile.TemporaryDirectory() as run_dir:
    run_experiment(run_config, run_dir, progress=False)
    metrics = read_metrics(run_dir)
  middle = slice(1, rounds - 1)
  return (loaded - start, built - loaded, clients, int(np.median(metrics["clients"])),
          int(np.median(metrics["examples"][middle])),
          float(np.median(metrics["seconds"][middle])))


def resident_bytes() -> tuple:
  """(this process's resident bytes, its child processes' together)."""
  import psutil

  process = psutil.Process()
  children = 0
  for child in process.children(recursive=True):
    try:
      children += child.memory_info().rss
    except psutil.NoSuchProcess:
      pass
  return process.memory_info().rss, children


def memory_run(population: int, rounds: int, data_dir: str, workers: int):
  """{round: (driver bytes, workers' bytes)} after some rounds, and the seconds."""
  samples = {}
  every = max(1, rounds // 6)

  def on_round_end(round_num):
    if round_num in (1, 10) or round_num % every == 0 or round_num == rounds:
      samples[round_num] = resident_bytes()

  start = time.perf_counter()
  with tempfile.TemporaryDirectory() as run_dir:
    run_experiment(config("mnist", population, rounds, data_dir, workers), run_dir,
                   progress=True, on_round_end=on_round_end)
  return samples, time.perf_counter() - start


def population_table(data_dir: str, rounds: int, settings=tuple(SETTINGS)) -> str:
  rows = []
  for setting in settings:
    title = SETTINGS[setting]
    for population in POPULATIONS:
      load, build, clients, sampled, examples, median = time_population(
          setting, population, rounds, data_dir)
      row = (f"| {title} | {population:,} | {clients:,} | {sampled} | {load:.2f} | "
             f"{build:.3f} | {examples} | {median:.3f} |")
      print(row, flush=True)
      rows.append(row)
  return ("| data | population | clients with data | sampled | load data (s) | "
          "build federation (s) | examples a round | round, median (s) |\n" +
          "|---|---|---|---|---|---|---|---|\n" +
          "\n".join(rows) + f"\n\nMedians of rounds 2 to {rounds - 1} of {rounds} (the last "
          f"one scores the test set); {STEPS} local steps of B = 10 a client; one local "
          f"worker; {os.cpu_count()} cores.")


def memory_table(population: int, rounds: int, data_dir: str, workers: int) -> str:
  samples, seconds = memory_run(population, rounds, data_dir, workers)
  mib = 1 << 20
  rows = [f"| {r} | {d / mib:.0f} | {w / mib:.0f} | {(d + w) / mib:.0f} |"
          for r, (d, w) in sorted(samples.items())]
  table = ("| after round | driver (MiB) | workers (MiB) | together (MiB) |\n"
           "|---|---|---|---|\n" + "\n".join(rows))
  first, last = min(samples), max(samples)
  settled = min((r for r in samples if r >= 50), default=first)
  growth = sum(samples[last]) - sum(samples[settled])
  return (table + f"\n\nMNIST Dirichlet(0.3), {population:,} clients, {SAMPLED} a round, "
          f"{workers} local workers, {rounds} rounds in {seconds / 60:.1f} min; resident "
          f"memory from round {settled} to {last}: {growth / mib:+.0f} MiB.")


def _settings(text: str) -> tuple:
  names = tuple(name.strip() for name in text.split(",") if name.strip())
  unknown = [name for name in names if name not in SETTINGS]
  if unknown or not names:
    raise SystemExit(f"--settings: got {text!r}, expected names among {', '.join(SETTINGS)}")
  return names


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  parser.add_argument("--data-dir", required=True, help="holds mnist/")
  parser.add_argument("--rounds", type=int, default=12, help="rounds timed a population")
  parser.add_argument("--memory-rounds", type=int, default=300,
                      help="rounds of the memory run (default: 300)")
  parser.add_argument("--memory-workers", type=int, default=2,
                      help="local workers of the memory run (default: 2)")
  parser.add_argument("--settings", default=",".join(SETTINGS),
                      help=f"comma-separated federations to time (default: all of "
                           f"{', '.join(SETTINGS)})")
  parser.add_argument("--skip-memory", action="store_true", help="no memory run")
  parser.add_argument("--skip-populations", action="store_true",
                      help="no population table (the memory run only)")
  parser.add_argument("--append", action="store_true", help="add the tables to RESULTS.md")
  args = parser.parse_args(argv)
  command = "python benchmarks/bench_population.py --data-dir DIR --append"
  if not args.skip_populations:
    table = population_table(args.data_dir, args.rounds, _settings(args.settings))
    print(table, flush=True)
    if args.append:
      append_section("Populations of 100 to 10,000 clients, 10 sampled a round", command,
                     table)
  if args.skip_memory:
    return 0
  table = memory_table(POPULATIONS[-1], args.memory_rounds, args.data_dir,
                       args.memory_workers)
  print(table, flush=True)
  if args.append:
    append_section(f"Memory over {args.memory_rounds} rounds on {args.memory_workers} "
                   f"local workers", command, table)
  return 0


if __name__ == "__main__":
  sys.exit(main())
