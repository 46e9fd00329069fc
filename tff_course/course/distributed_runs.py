"""Course arms that run as distributed jobs: Local SGD / SlowMo on K worker processes
(`launch.run_workers`), one metrics row per sync, and asynchronous or synchronous SGD on
parameter servers (`async_launch.run_async`), one row per snapshot of the weights; both in
the runner's format."""

from __future__ import annotations

import os
from typing import Any, Dict, List, Mapping, Optional, Sequence

import numpy as np

from tff_course.course.outside_runs import write_outside_run

LOCAL_SGD_COLUMNS = ("round", "train_loss", "test_accuracy", "seconds", "compute_seconds",
                     "communication_seconds", "gradient_steps", "bytes_reduced")
ASYNC_COLUMNS = ("round", "train_loss", "test_accuracy", "seconds", "gradient_steps",
                 "mean_staleness")
JOB_DIR = "job"


def run_local_sgd(settings: Mapping[str, Any], run_dir: str,
                  data_dir: Optional[str] = None) -> Dict[str, float]:
  """Runs the job `settings` describe and writes run_dir's files; returns the last row.

  Settings: dataset, model, limit (optional), seed, workers, local_steps, rounds (syncs),
  batch_size, lr, momentum, outer_lr, outer_momentum, evaluate_every (syncs between test
  evaluations).
  A row per sync ("round"): the workers' mean training loss, the test accuracy where
  measured, the seconds worker 0 spent computing and communicating (evaluation left out),
  the SGD steps taken by all workers so far and the bytes each all-reduced.
  """
  from tff_course.distributed.job import LocalSGDJob
  from tff_course.distributed.launch import run_workers
  from tff_course.distributed.slowmo import SlowMoSettings

  job = LocalSGDJob(
      SlowMoSettings(workers=settings["workers"], local_steps=settings["local_steps"],
                     syncs=settings["rounds"], batch_size=settings["batch_size"],
                     inner_lr=settings["lr"], inner_momentum=settings["momentum"],
                     outer_lr=settings["outer_lr"], outer_momentum=settings["outer_momentum"],
                     seed=settings["seed"]),
      dataset=settings["dataset"], model=settings["model"], data_dir=data_dir,
      limit=settings.get("limit"))
  _, records = run_workers(job, os.path.join(run_dir, JOB_DIR), progress=False,
                           evaluate_every=settings["evaluate_every"])
  steps_per_sync = settings["workers"] * settings["local_steps"]
  rows = [{"round": r.sync, "train_loss": r.loss, "test_accuracy": r.test_accuracy,
           "seconds": r.compute_seconds + r.communication_seconds,
           "compute_seconds": r.compute_seconds,
           "communication_seconds": r.communication_seconds,
           "gradient_steps": r.sync * steps_per_sync, "bytes_reduced": r.bytes_reduced}
          for r in records]
  return write_outside_run(run_dir, settings, rows, LOCAL_SGD_COLUMNS)


def run_async_sgd(settings: Mapping[str, Any], run_dir: str,
                  data_dir: Optional[str] = None) -> Dict[str, float]:
  """Runs the parameter-server job `settings` describe and writes run_dir's files (the
  job's own, with every step's record, under run_dir/job); returns the last row.

  Settings: dataset, model, limit (optional), seed, workers, parameter_servers,
  synchronous, rounds, steps_per_round, batch_size, lr. The job takes rounds x
  steps_per_round SGD steps; a row per round: the weights read off the servers after the
  round's steps were dispatched (the last row: the final weights), their test accuracy, the
  updates applied when they were read, the seconds since the previous row, and the mean
  loss and staleness of the updates applied in between.
  """
  from tff_course.distributed.async_launch import run_async
  from tff_course.distributed.async_sgd import AsyncSettings
  from tff_course.distributed.async_snapshots import SNAPSHOTS_FILE, Snapshot, read_snapshots
  from tff_course.distributed.job import AsyncJob
  from tff_course.tf_log import drop_retracing_warnings

  drop_retracing_warnings()
  per_round = settings["steps_per_round"]
  job = AsyncJob(
      AsyncSettings(workers=settings["workers"], parameter_servers=settings["parameter_servers"],
                    steps=settings["rounds"] * per_round, batch_size=settings["batch_size"],
                    learning_rate=settings["lr"], seed=settings["seed"],
                    synchronous=settings["synchronous"], snapshot_every=per_round),
      dataset=settings["dataset"], model=settings["model"], data_dir=data_dir,
      limit=settings.get("limit"))
  out_dir = os.path.join(run_dir, JOB_DIR)
  weights, records = run_async(job, out_dir, progress=False)
  snapshot_path = os.path.join(out_dir, SNAPSHOTS_FILE)
  snapshots = read_snapshots(snapshot_path) if os.path.exists(snapshot_path) else []
  final = Snapshot(len(records), max(r.seconds for r in records), weights)
  rows = snapshot_rows(snapshots + [final], records, job.source.evaluator())
  return write_outside_run(run_dir, settings, rows, ASYNC_COLUMNS)


def snapshot_rows(snapshots: Sequence[object], records: Sequence[object],
                  accuracy) -> List[Dict[str, float]]:
  """A row per snapshot: its test accuracy (`accuracy(weights)`), updates applied, seconds
  since the previous one, and the mean loss and staleness of the updates applied since."""
  rows, previous_version, previous_seconds = [], 0, 0.0
  for number, snapshot in enumerate(snapshots, start=1):
    since = [r for r in records if previous_version < r.version <= snapshot.version]
    rows.append({"round": number,
                 "train_loss": float(np.mean([r.loss for r in since])) if since else None,
                 "test_accuracy": accuracy(snapshot.weights),
                 "seconds": snapshot.seconds - previous_seconds,
                 "gradient_steps": snapshot.version,
                 "mean_staleness": (float(np.mean([r.staleness for r in since]))
                                    if since else None)})
    previous_version, previous_seconds = snapshot.version, snapshot.seconds
  return rows
