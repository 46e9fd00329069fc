"""A program that runs one federated computation, then ends as argv[1] says.

Prints "worker PID" and "result VALUE" lines; modes: exit (normal), raise, sleep
(wait to be signalled), restart (stop the worker, compute again on a new one).
"""

import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

import numpy as np  # pylint: disable=wrong-import-position

from tff_course.runtime import ensure_worker, shutdown_context  # pylint: disable=wrong-import-position
from tff_course.runtime.tff_module import tff  # pylint: disable=wrong-import-position


@tff.tensorflow.computation(np.int32)
def add_one(value):
  return value + 1


@tff.federated_computation(tff.FederatedType(np.int32, tff.CLIENTS))
def sum_plus_one(values):
  return tff.federated_sum(tff.federated_map(add_one, values))


def main(mode: str) -> None:
  result = sum_plus_one([1, 2, 3])
  print(f"worker {ensure_worker().pid}", flush=True)
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
  if sys.argv[1:] == ["import-only"]:
    sys.exit(0)
  main(sys.argv[1] if len(sys.argv) > 1 else "exit")
