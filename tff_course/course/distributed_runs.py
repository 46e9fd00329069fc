"""Course arms that run as distributed jobs: Local SGD / SlowMo on K worker processes
(`launch.run_workers`), one metrics row per sync in the runner's format."""

from __future__ import annotations

import os
from typing import Any, Dict, Mapping, Optional

from tff_course.course.outside_runs import write_outside_run

LOCAL_SGD_COLUMNS = ("round", "train_loss", "test_accuracy", "seconds", "compute_seconds",
                     "communication_seconds", "gradient_steps", "bytes_reduced")


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
  _, records = run_workers(job, os.path.join(run_dir, "job"), progress=False,
                           evaluate_every=settings["evaluate_every"])
  steps_per_sync = settings["workers"] * settings["local_steps"]
  rows = [{"round": r.sync, "train_loss": r.loss, "test_accuracy": r.test_accuracy,
           "seconds": r.compute_seconds + r.communication_seconds,
           "compute_seconds": r.compute_seconds,
           "communication_seconds": r.communication_seconds,
           "gradient_steps": r.sync * steps_per_sync, "bytes_reduced": r.bytes_reduced}
          for r in records]
  return write_outside_run(run_dir, settings, rows, LOCAL_SGD_COLUMNS)
