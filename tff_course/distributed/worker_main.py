"""One worker process of a Local SGD / SlowMo job: `python -m
tff_course.distributed.worker_main --job JOB.json --cluster H:P,H:P --index K --out DIR`.

It joins the cluster (TF_CONFIG from --cluster and --index), trains its replica with the
others through `run_syncs`, and writes DIR/weights-K.npz and DIR/syncs-K.json. Lines that
begin with "@" on its stdout are for the controller: "@ready" once a first all-reduce went
through (every worker joined), "@sync T N LOSS" after each sync. With --evaluate-every,
worker 0 also measures the averaged model's test accuracy (outside the timed compute and
communication).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from typing import List, Optional

import numpy as np

from tff_course.atomic import atomic_path, write_text

READY = "@ready"
SYNC = "@sync"


def weights_path(out_dir: str, index: int) -> str:
  return os.path.join(out_dir, f"weights-{index}.npz")


def syncs_path(out_dir: str, index: int) -> str:
  return os.path.join(out_dir, f"syncs-{index}.json")


def tf_config(cluster: List[str], index: int) -> str:
  """TF_CONFIG for worker `index` of `cluster` (host:port addresses)."""
  return json.dumps({"cluster": {"worker": list(cluster)},
                     "task": {"type": "worker", "index": index}})


def main(argv: Optional[List[str]] = None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--job", required=True, help="the job's JSON file")
  parser.add_argument("--cluster", required=True, help="every worker's host:port")
  parser.add_argument("--index", type=int, required=True, help="this worker's place")
  parser.add_argument("--out", required=True, help="folder for weights and records")
  parser.add_argument("--evaluate-every", type=int, default=0, metavar="N",
                      help="worker 0 measures the test accuracy every N syncs and after the "
                           "last (default 0: never)")
  args = parser.parse_args(argv)
  from tff_course.distributed.job import LocalSGDJob

  with open(args.job, encoding="utf-8") as stream:
    job = LocalSGDJob.from_json(stream.read())
  os.environ["TF_CONFIG"] = tf_config(args.cluster.split(","), args.index)
  from tff_course.tf_log import quiet_tf_log, quiet_tf_python_log

  quiet_tf_log()
  quiet_tf_python_log()
  from tff_course.distributed.collective import CollectiveMean, multi_worker_strategy
  from tff_course.distributed.local_sgd import Replica, run_syncs

  x, y, build = job.load()
  strategy = multi_worker_strategy()
  replica = Replica(build, job.settings)
  average = CollectiveMean(strategy, replica.weights())
  average([replica.weights()], 0.0)
  print(READY, flush=True)

  evaluate = (job.source.evaluator() if args.index == 0 and args.evaluate_every > 0
              else None)
  accuracies = {}

  def report(record):
    if evaluate is not None and (record.sync % args.evaluate_every == 0 or
                                 record.sync == job.settings.syncs):
      accuracies[record.sync] = evaluate(replica.weights())
    print(f"{SYNC} {record.sync} {job.settings.syncs} {record.loss:.6f}", flush=True)

  records = [dataclasses.replace(record, test_accuracy=accuracies.get(record.sync))
             for record in run_syncs([(args.index, replica)], job.settings, x, y, average,
                                     report)]
  with atomic_path(weights_path(args.out, args.index)) as temp:
    np.savez(temp, *replica.weights())
  write_text(syncs_path(args.out, args.index),
             json.dumps([dataclasses.asdict(r) for r in records], indent=1))
  return 0


if __name__ == "__main__":
  sys.exit(main())
