"""One stage process of a pipeline: a TensorFlow gRPC server that runs what the controller
places on it (`python -m tff_course.distributed.stage_server --cluster H:P,... --index S`).
Prints "@ready" once it serves, then serves until it is stopped."""

from __future__ import annotations

import argparse
import sys
from typing import List, Optional

READY = "@ready"
JOB = "stage"


def main(argv: Optional[List[str]] = None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--cluster", required=True, help="every stage's host:port")
  parser.add_argument("--index", type=int, required=True, help="this stage's place")
  args = parser.parse_args(argv)
  from tff_course.tf_log import quiet_tf_log

  quiet_tf_log()
  import tensorflow as tf

  cluster = tf.train.ClusterSpec({JOB: args.cluster.split(",")})
  server = tf.distribute.Server(cluster, job_name=JOB, task_index=args.index, protocol="grpc",
                                start=True)
  print(READY, flush=True)
  server.join()
  return 0


if __name__ == "__main__":
  sys.exit(main())
