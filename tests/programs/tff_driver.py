"""A program that runs one federated computation, then ends as argv[1] says.

Prints "worker PID [PID ...]" and "result VALUE" lines; modes: exit (normal), raise, sleep
(wait to be signalled), restart (stop the worker, compute again on a new one). argv[2],
if given, is how many local workers the computation runs on (default 1).
"""

import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

# pylint: disable=wrong-import-position
import numpy as np

from tff_course.runtime import ensure_worker, install_context, shutdown_context
from tff_course.runtime.context import current_pool
from tff_course.runtime.tff_module import tff
from tff_course.runtime.worker_set import worker_set


@tff.tensorflow.computation(np.int32)
def add_one(value):
  return value + 1


@tff.federated_computation(tff.FederatedType(np.int32, tff.CLIENTS))
def sum_plus_one(values):
  return tff.federated_sum(tff.federated_map(add_one, values))


def main(mode: str, workers: int) -> None:
  install_context(workers=worker_set(workers))
  result = sum_plus_one([1, 2, 3])
  print("worker " + " ".join(str(member.process.pid) for member in current_pool()),
        flush=True)
  print(f"result {result}", flush=True)
  if mode == "restart":
    first = ensure_worker().pid
    shutdown_context()
    print(f"again {sum_plus_one([4, 5])} first {first} second {ensure_worker().pid}",
          flush=True)
  if mode == "raise":
    raise ValueError("the driver failed on purpose")
  if mode == "sleep":
    time.sleep(600)


if __name__ == "__main__":
  if sys.argv[1:2] == ["import-only"]:
    sys.exit(0)
  main(sys.argv[1] if len(sys.argv) > 1 else "exit",
       int(sys.argv[2]) if len(sys.argv) > 2 else 1)
