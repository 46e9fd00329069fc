"""Running a Local SGD / SlowMo job as K worker processes on this machine: free loopback
ports (or the addresses given), one `worker_main` process per worker, a progress bar fed
by worker 0, and the results read back."""

from __future__ import annotations

import json
import os
import sys
import time
from typing import List, Optional, Sequence, Tuple

import numpy as np

from tff_course.atomic import write_text
from tff_course.distributed.addresses import not_formed, planned_addresses
from tff_course.distributed.job import LocalSGDJob
from tff_course.distributed.local_sgd import SyncRecord, Weights
from tff_course.distributed.process_group import ProcessGroup
from tff_course.distributed.worker_main import READY, SYNC, syncs_path, weights_path

JOB_FILE = "job.json"
STARTUP_SECONDS = 60.0


def worker_commands(job_path: str, addresses: Sequence[str], out_dir: str,
                    evaluate_every: int = 0) -> dict:
  """Role -> command line of each worker process."""
  return {f"worker {index}": [sys.executable, "-m", "tff_course.distributed.worker_main",
                              "--job", job_path, "--cluster", ",".join(addresses),
                              "--index", str(index), "--out", out_dir,
                              "--evaluate-every", str(evaluate_every)]
          for index in range(len(addresses))}


def _on_line(role: str, line: str, bar, ready: set) -> None:
  """A worker's "@" line: readiness, or worker 0's progress."""
  fields = line.split()
  if fields[0] == READY:
    ready.add(role)
  elif role == "worker 0" and fields[0] == SYNC:
    bar.update(int(fields[1]) - bar.n)
    bar.set_postfix({"loss": fields[3]})


def run_workers(job: LocalSGDJob, out_dir: str, *, addresses: Optional[Sequence[str]] = None,
                progress: bool = True, timeout: Optional[float] = None,
                startup_timeout: float = STARTUP_SECONDS, evaluate_every: int = 0
                ) -> Tuple[List[Weights], List[SyncRecord]]:
  """Runs `job` on K worker processes; (the final weights of each worker started here,
  worker 0's records, with the test accuracy every `evaluate_every` syncs and after the
  last when it is > 0).

  The workers whose address is on this machine are started here; the others must be
  started on their machines with the same job file, cluster and their index
  (`python -m tff_course.distributed.worker_main`). Worker 0 must be local.

  Raises:
    ConfigError: `addresses` does not hold one address per worker, or one of them cannot
      be listened on here (a port in use).
    ProcessFailed: a worker failed (the message names it), did not join the cluster
      within `startup_timeout` seconds, or `timeout` passed.
  """
  from tqdm.auto import tqdm

  workers = job.settings.workers
  addresses, local = planned_addresses(addresses, [f"worker {i}" for i in range(workers)])
  os.makedirs(out_dir, exist_ok=True)
  job_path = os.path.join(out_dir, JOB_FILE)
  write_text(job_path, job.to_json())
  bar = tqdm(total=job.settings.syncs, unit="sync", disable=not progress, file=sys.stderr,
             desc=f"{workers} workers", dynamic_ncols=True)
  ready = set()
  started = time.monotonic()

  def late() -> Optional[str]:
    if len(ready) < len(local) and time.monotonic() - started > startup_timeout:
      return not_formed(addresses, local, startup_timeout)
    return None

  commands = worker_commands(job_path, addresses, out_dir, evaluate_every)
  try:
    with ProcessGroup({f"worker {index}": commands[f"worker {index}"] for index in local},
                      on_line=lambda role, line: _on_line(role, line, bar, ready)) as group:
      group.wait(timeout, check=late)
  finally:
    bar.close()
  weights = []
  for index in local:
    with np.load(weights_path(out_dir, index)) as stored:
      weights.append([stored[f"arr_{i}"] for i in range(len(stored.files))])
  with open(syncs_path(out_dir, 0), encoding="utf-8") as stream:
    records = [SyncRecord(**fields) for fields in json.load(stream)]
  return weights, records
