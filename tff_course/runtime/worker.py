"""The TFF C++ worker process, owned so that it never outlives the program.

TFF 0.87's local execution context starts a `worker_binary` gRPC executor service
with the program's stdout and stderr and never stops it: after the program exits the
worker lives on, holding memory and the program's output pipes (so `... | tee log`
hangs). Here the worker writes to a log file instead of our pipes, receives SIGKILL
from the kernel the moment the thread that started it dies (Linux PR_SET_PDEATHSIG,
which covers the driver being killed), and is stopped at normal exit, on exceptions
and on SIGTERM/SIGHUP (`exit_callbacks`).

The worker runs with glibc's MALLOC_ARENA_MAX=2 unless the environment sets it: with
the default (8 arenas per core) its resident memory grew 16 % from round 30 to round
300 of a simulation, with 2 it grew 7 % from a lower start (benchmarks/RESULTS.md).
"""

from __future__ import annotations

import ctypes
import functools
import os
import signal
import subprocess
import sys
import time
from typing import List, Optional, Sequence

from tff_course.errors import WorkerError
from tff_course.runtime.cpu_groups import pin_to
from tff_course.runtime.exit_callbacks import cancel, on_exit

_PR_SET_PDEATHSIG = 1
_STOP_TIMEOUT_SECONDS = 3.0
_STARTUP_TIMEOUT_SECONDS = 60.0
_MALLOC_ARENAS = "2"


def worker_binary_path() -> str:
  """Where tensorflow-federated keeps its C++ worker binary."""
  import tensorflow_federated

  path = os.path.join(os.path.dirname(tensorflow_federated.__file__), "data",
                      "worker_binary")
  if not os.path.isfile(path):
    raise RuntimeError(f"{path}: tensorflow-federated's worker binary is missing; "
                       f"reinstall tensorflow-federated ({tensorflow_federated.__version__})")
  return path


def prepare_child(cpus: Optional[Sequence[int]] = None) -> None:
  """Runs in the child before exec: default signal handling (a background job inherits
  SIGINT ignored), SIGKILL from the kernel when the parent thread dies, and `cpus` (if
  given) as the only CPUs it may use."""
  pin_to(cpus)
  for signum in (signal.SIGINT, signal.SIGTERM):
    signal.signal(signum, signal.SIG_DFL)
  try:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
  except (OSError, AttributeError):
    pass


class WorkerProcess:
  """One running `worker_binary`, serving on `port` (on every interface), stopped by
  `stop()`; its output goes to `log_path` (default: discarded; "-": this program's
  stdout and stderr); held to `cpus` when given (default: the CPUs this program may use)."""

  def __init__(self, port: int, *, log_path: Optional[str] = None,
               max_concurrent_computation_calls: int = -1,
               cpus: Optional[Sequence[int]] = None):
    self.port = port
    self.log_path = log_path or os.devnull
    args = [worker_binary_path(), f"--port={port}",
            f"--max_concurrent_computation_calls={max_concurrent_computation_calls}"]
    self._log = (None if self.log_path == "-"
                 else open(self.log_path, "ab"))  # pylint: disable=consider-using-with
    self.process = subprocess.Popen(  # pylint: disable=consider-using-with
        args, stdin=subprocess.DEVNULL, stdout=self._log, stderr=self._log,
        env={"MALLOC_ARENA_MAX": _MALLOC_ARENAS, **os.environ},
        preexec_fn=(functools.partial(prepare_child, cpus)
                    if sys.platform.startswith("linux") else None),
        close_fds=True)
    _LIVE.append(self)
    self._exit_token = on_exit(self.stop)

  @property
  def pid(self) -> int:
    return self.process.pid

  def running(self) -> bool:
    return self.process.poll() is None

  def stop(self) -> None:
    """Stops the worker (SIGTERM, then SIGKILL after a grace period) and reaps it."""
    if self.running():
      try:
        self.process.terminate()
        self.process.wait(timeout=_STOP_TIMEOUT_SECONDS)
      except subprocess.TimeoutExpired:
        self.process.kill()
        self.process.wait()
      except ProcessLookupError:
        pass
    if self._log is not None:
      self._log.close()
    cancel(self._exit_token)
    if self in _LIVE:
      _LIVE.remove(self)


_LIVE: List[WorkerProcess] = []


def stop_all_workers() -> None:
  """Stops every worker this program started."""
  for worker in list(_LIVE):
    worker.stop()


def wait_until_ready(is_ready, worker: WorkerProcess) -> None:
  """Polls `is_ready()` until the worker serves; raises if it dies or never answers."""
  deadline = time.monotonic() + _STARTUP_TIMEOUT_SECONDS
  while not is_ready():
    if not worker.running():
      raise WorkerError(
          f"TFF worker exited with status {worker.process.returncode} before serving; "
          f"see {worker.log_path}")
    if time.monotonic() > deadline:
      worker.stop()
      raise WorkerError(f"TFF worker did not answer within {_STARTUP_TIMEOUT_SECONDS:.0f} s")
    time.sleep(0.05)
