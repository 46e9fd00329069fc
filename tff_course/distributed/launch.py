"""Running a Local SGD / SlowMo job as K worker processes on this machine: free loopback
ports (or the addresses given), one `worker_main` process per worker, a progress bar fed
by worker 0, and the results read back."""

from __future__ import annotations

import json
import os
import sys
from typing import List, Optional, Sequence, Tuple

import numpy as np

from tff_course.atomic import write_text
from tff_course.distributed.job import LocalSGDJob
from tff_course.distributed.local_sgd import SyncRecord, Weights
from tff_course.distributed.process_group import ProcessGroup, free_ports
from tff_course.distributed.worker_main import SYNC, syncs_path, weights_path
from tff_course.errors import ConfigError

JOB_FILE = "job.json"


def loopback_addresses(count: int) -> List[str]:
  return [f"127.0.0.1:{port}" for port in free_ports(count)]


def worker_commands(job_path: str, addresses: Sequence[str], out_dir: str) -> dict:
  """Role -> command line of each worker process."""
  return {f"worker {index}": [sys.executable, "-m", "tff_course.distributed.worker_main",
                              "--job", job_path, "--cluster", ",".join(addresses),
                              "--index", str(index), "--out", out_dir]
          for index in range(len(addresses))}


def run_workers(job: LocalSGDJob, out_dir: str, *, addresses: Optional[Sequence[str]] = None,
                progress: bool = True,
                timeout: Optional[float] = None) -> Tuple[List[Weights], List[SyncRecord]]:
  """Runs `job` on K processes; (every worker's final weights, worker 0's records).

  Raises:
    ConfigError: `addresses` does not hold one address per worker.
    ProcessFailed: a worker failed (the message names it) or `timeout` passed.
  """
  from tqdm.auto import tqdm

  workers = job.settings.workers
  addresses = list(addresses) if addresses else loopback_addresses(workers)
  if len(addresses) != workers:
    raise ConfigError(f"addresses: got {len(addresses)} ({', '.join(addresses)}), expected "
                      f"one per worker ({workers})")
  os.makedirs(out_dir, exist_ok=True)
  job_path = os.path.join(out_dir, JOB_FILE)
  write_text(job_path, job.to_json())
  bar = tqdm(total=job.settings.syncs, unit="sync", disable=not progress, file=sys.stderr,
             desc=f"{workers} workers", dynamic_ncols=True)

  def on_line(role: str, line: str) -> None:
    fields = line.split()
    if role == "worker 0" and fields[0] == SYNC:
      bar.update(int(fields[1]) - bar.n)
      bar.set_postfix({"loss": fields[3]})

  try:
    with ProcessGroup(worker_commands(job_path, addresses, out_dir), on_line=on_line) as group:
      group.wait(timeout)
  finally:
    bar.close()
  weights = []
  for index in range(workers):
    with np.load(weights_path(out_dir, index)) as stored:
      weights.append([stored[f"arr_{i}"] for i in range(len(stored.files))])
  with open(syncs_path(out_dir, 0), encoding="utf-8") as stream:
    records = [SyncRecord(**fields) for fields in json.load(stream)]
  return weights, records
