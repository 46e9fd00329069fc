"""The coordinator process of an asynchronous SGD job: `python -m
tff_course.distributed.async_main --job JOB.json --spec CLUSTER_JSON --out DIR`.

It connects to the cluster's workers and parameter servers, dispatches the job's steps
(`async_sgd.train_on_cluster`) and writes DIR/weights.npz, DIR/steps.json and, when the job
takes snapshots, DIR/snapshots.npz. Lines that begin with "@" on its stdout are for the
controller: "@ready" once the first step went through, "@step STEP VERSION STALENESS LOSS"
after each. It ends with os._exit: TF 2.14's
ClusterCoordinator destructor can wait forever on servers that are already gone.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import traceback
from typing import List, Optional

import numpy as np

from tff_course.atomic import atomic_path, write_text

READY = "@ready"
STEP = "@step"
WEIGHTS_FILE = "weights.npz"
STEPS_FILE = "steps.json"


def main(argv: Optional[List[str]] = None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--job", required=True, help="the job's JSON file")
  parser.add_argument("--spec", required=True, help="the cluster as JSON: job -> addresses")
  parser.add_argument("--out", required=True, help="folder for weights and records")
  args = parser.parse_args(argv)
  from tff_course.distributed.job import AsyncJob
  from tff_course.tf_log import quiet_tf_log, quiet_tf_python_log

  with open(args.job, encoding="utf-8") as stream:
    job = AsyncJob.from_json(stream.read())
  quiet_tf_log()
  quiet_tf_python_log()
  from tff_course.distributed.async_sgd import train_on_cluster
  from tff_course.distributed.async_snapshots import SNAPSHOTS_FILE, write_snapshots

  x, y, build = job.load()

  def report(record):
    if record.step == 0:
      print(READY, flush=True)
    print(f"{STEP} {record.step} {record.version} {record.staleness} {record.loss:.6f}",
          flush=True)

  snapshots = []
  weights, records = train_on_cluster(build, x, y, job.settings, json.loads(args.spec), report,
                                      snapshots.append)
  if snapshots:
    write_snapshots(os.path.join(args.out, SNAPSHOTS_FILE), snapshots)
  with atomic_path(os.path.join(args.out, WEIGHTS_FILE)) as temp:
    np.savez(temp, *weights)
  write_text(os.path.join(args.out, STEPS_FILE),
             json.dumps([dataclasses.asdict(r) for r in records], indent=1))
  return 0


def _exit_now() -> None:
  """Runs main, then ends the process without Python's shutdown (see the module doc)."""
  try:
    status = main()
  except SystemExit as stop:
    status = stop.code if isinstance(stop.code, int) else 1
  except BaseException:  # pylint: disable=broad-except
    traceback.print_exc()
    status = 1
  sys.stdout.flush()
  sys.stderr.flush()
  os._exit(status)  # pylint: disable=protected-access


if __name__ == "__main__":
  _exit_now()
