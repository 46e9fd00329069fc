"""Running an asynchronous SGD job: W worker and P parameter-server processes (TF gRPC
servers) and the coordinator process, on free loopback ports or the addresses given (those
on other machines started there), a progress bar fed by the coordinator, the results read
back, every process started here stopped at the end."""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from tff_course.atomic import write_text
from tff_course.distributed.addresses import not_formed, planned_addresses
from tff_course.distributed.async_main import READY, STEP, STEPS_FILE, WEIGHTS_FILE
from tff_course.distributed.async_sgd import AsyncStep, cluster_spec
from tff_course.distributed.job import AsyncJob
from tff_course.distributed.process_group import ProcessGroup

JOB_FILE = "job.json"
CLUSTER_FILE = "cluster.json"
COORDINATOR = "coordinator"
STARTUP_SECONDS = 90.0


def process_commands(spec: Dict[str, List[str]], job_path: str,
                     out_dir: str) -> Dict[str, List[str]]:
  """Role ("ps K", "worker K", "coordinator") -> command line of each process."""
  cluster = json.dumps(spec)
  commands = {f"{job} {index}": [sys.executable, "-m", "tff_course.distributed.stage_server",
                                 "--spec", cluster, "--job", job, "--index", str(index)]
              for job in ("ps", "worker") for index in range(len(spec[job]))}
  commands[COORDINATOR] = [sys.executable, "-m", "tff_course.distributed.async_main",
                           "--job", job_path, "--spec", cluster, "--out", out_dir]
  return commands


def roles(workers: int, parameter_servers: int) -> List[str]:
  """The processes in address order: the coordinator, the workers, the servers."""
  return ([COORDINATOR] + [f"worker {i}" for i in range(workers)] +
          [f"ps {i}" for i in range(parameter_servers)])


def run_async(job: AsyncJob, out_dir: str, *, addresses: Optional[Sequence[str]] = None,
              progress: bool = True, timeout: Optional[float] = None,
              startup_timeout: float = STARTUP_SECONDS,
              on_step: Optional[Callable[[int], None]] = None
              ) -> Tuple[List[np.ndarray], List[AsyncStep]]:
  """Runs `job` on its processes; (the final trainable weights, every step's record).
  `addresses`: one HOST:PORT per role of `roles` (default: free loopback ports); the
  processes whose address is on this machine are started here, the others must be
  started on theirs (`python -m tff_course.distributed.stage_server --spec CLUSTER --job
  worker|ps --index I`, the cluster as written to out_dir/cluster.json). `on_step` gets
  each step's index as the coordinator reports it.

  Raises:
    ConfigError: addresses that do not match the roles, a coordinator elsewhere, or a
      local port in use.
    ProcessFailed: a process failed (the message names it), the first step did not go
      through within `startup_timeout` seconds, or `timeout` passed.
  """
  from tqdm.auto import tqdm

  settings = job.settings
  planned = roles(settings.workers, settings.parameter_servers)
  addresses, local = planned_addresses(addresses, planned)
  spec = cluster_spec(addresses, settings.workers)
  os.makedirs(out_dir, exist_ok=True)
  job_path = os.path.join(out_dir, JOB_FILE)
  write_text(job_path, job.to_json())
  write_text(os.path.join(out_dir, CLUSTER_FILE), json.dumps(spec) + "\n")
  mode = "synchronous" if settings.synchronous else "asynchronous"
  bar = tqdm(total=settings.steps, unit="step", disable=not progress, file=sys.stderr,
             desc=f"{mode}, {settings.workers} workers", dynamic_ncols=True)
  ready = []
  started = time.monotonic()

  def on_line(role: str, line: str) -> None:
    fields = line.split()
    if role != COORDINATOR:
      return
    if fields[0] == READY:
      ready.append(True)
    elif fields[0] == STEP:
      bar.update(1)
      bar.set_postfix({"staleness": fields[3], "loss": fields[4]})
      if on_step is not None:
        on_step(int(fields[1]))

  def late() -> Optional[str]:
    if not ready and time.monotonic() - started > startup_timeout:
      return not_formed(addresses, local, startup_timeout)
    return None

  commands = process_commands(spec, job_path, out_dir)
  try:
    with ProcessGroup({planned[i]: commands[planned[i]] for i in local},
                      on_line=on_line) as group:
      group.wait(timeout, check=late, roles=[COORDINATOR])
  finally:
    bar.close()
  with np.load(os.path.join(out_dir, WEIGHTS_FILE)) as stored:
    weights = [stored[f"arr_{i}"] for i in range(len(stored.files))]
  return weights, read_steps(out_dir)


def read_steps(out_dir: str) -> List[AsyncStep]:
  """Every step's record the coordinator wrote to out_dir, in step order."""
  with open(os.path.join(out_dir, STEPS_FILE), encoding="utf-8") as stream:
    return [AsyncStep(**fields) for fields in json.load(stream)]
