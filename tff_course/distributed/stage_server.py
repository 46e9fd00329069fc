"""One server process of a distributed job: a TensorFlow gRPC server that runs what the
controller places on it. A pipeline stage:
`python -m tff_course.distributed.stage_server --cluster H:P,... --index S`; a worker or
parameter server of a cluster with several jobs:
`... --spec '{"worker": [...], "ps": [...], "chief": [...]}' --job ps --index 0`.
Prints "@ready" once it serves, then serves until it is stopped."""

from __future__ import annotations

import argparse
import json
import sys
from typing import List, Optional

READY = "@ready"
JOB = "stage"


def main(argv: Optional[List[str]] = None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  where = parser.add_mutually_exclusive_group(required=True)
  where.add_argument("--cluster", help="every stage's host:port (one job, named 'stage')")
  where.add_argument("--spec", help="the cluster as JSON: job name -> list of host:port")
  parser.add_argument("--job", default=JOB, help=f"this server's job (default {JOB})")
  parser.add_argument("--index", type=int, required=True, help="this server's task index")
  args = parser.parse_args(argv)
  from tff_course.tf_log import quiet_tf_log

  quiet_tf_log()
  import tensorflow as tf

  jobs = json.loads(args.spec) if args.spec else {JOB: args.cluster.split(",")}
  server = tf.distribute.Server(tf.train.ClusterSpec(jobs), job_name=args.job,
                                task_index=args.index, protocol="grpc", start=True)
  print(READY, flush=True)
  server.join()
  return 0


if __name__ == "__main__":
  sys.exit(main())
