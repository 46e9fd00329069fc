"""The one TFF execution context of a program, and the workers behind it.

`install_context()` makes the toolkit's context TFF's default (replacing the one TFF
installs at import, whose worker nobody stops). Its workers start on the first
computation, from the calling thread, and `worker.py` makes sure the ones this program
starts stop. With one local worker the context is TFF's synchronous C++ context; with
several, or with workers at HOST:PORT addresses (`WorkerSet`), it is TFF's mergeable
context, which splits each round's clients across them and merges their aggregates
(in subround order: `ordered_merge`).
Library code that runs TFF computations calls `install_context()` (or
`ensure_worker()`); nothing else in the toolkit creates contexts.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import threading
import time
from typing import List, Optional

from tff_course.errors import WorkerError
from tff_course.runtime import ordered_merge
from tff_course.runtime.concurrent_remote import concurrent_remote_executor
from tff_course.runtime.cpu_groups import cpu_groups
from tff_course.runtime.worker import WorkerProcess, stop_all_workers, wait_until_ready
from tff_course.runtime.worker_set import WorkerSet

_GRPC_MAX_MESSAGE_BYTES = 2 * 1000 * 1000 * 1000
_CONNECT_TIMEOUT_SECONDS = 30.0
_LOCK = threading.RLock()
_STATE = {"context": None, "workers": WorkerSet(), "pool": [], "log_path": None, "runs": 0}


@dataclasses.dataclass
class PoolMember:
  """One worker of the pool: where it serves, its gRPC stub, its process when this
  program started it, and the bytes exchanged with it (a `wire_bytes.WireCounter`)."""

  address: str
  stub: object
  process: Optional[WorkerProcess] = None
  wire: Optional[object] = None

  @property
  def dead(self) -> bool:
    """Whether this program started the worker and it has exited."""
    return self.process is not None and not self.process.running()

  def check(self) -> None:
    """Raises WorkerError naming the worker when it no longer serves (TFF would retry a
    lost connection for ever)."""
    if self.process is not None:
      if not self.process.running():
        raise WorkerError(f"TFF worker {self.address} stopped (exit status "
                          f"{self.process.process.returncode}; its log: "
                          f"{self.process.log_path})")
      return
    if not _wait_ready(self.stub, _CONNECT_TIMEOUT_SECONDS):
      raise WorkerError(f"TFF worker {self.address} does not answer (waited "
                        f"{_CONNECT_TIMEOUT_SECONDS:g} s); start it again with "
                        f"`tff-course worker --port {self.address.rpartition(':')[2]}`")


def install_context(*, log_path: Optional[str] = None,
                    workers: Optional[WorkerSet] = None) -> None:
  """Makes the toolkit's execution context TFF's default (cheap, starts nothing).

  Args:
    log_path: file that receives local workers' own output (default: discarded).
    workers: the workers rounds run on (default: the last ones asked for, at first one
      local worker); a different set stops the local workers of the old one.
  """
  with _LOCK:
    if log_path is not None:
      _STATE["log_path"] = log_path
    if workers is not None and workers != _STATE["workers"]:
      _stop_pool()
      _STATE.update(workers=workers, context=None)
    if _STATE["context"] is None:
      _STATE["context"] = _build_context(_STATE["workers"])
      import tensorflow_federated as tff
      tff.framework.set_default_context(_STATE["context"])


@contextlib.contextmanager
def using_workers(workers: WorkerSet):
  """Runs the block's computations on `workers` (a run: a local worker that dies inside
  it ends it with a WorkerError, see `ensure_pool`), then goes back to the workers
  before (stopping the local ones it started when they differ)."""
  previous = _STATE["workers"]
  install_context(workers=workers)
  with _LOCK:
    if any(member.dead for member in _STATE["pool"]):
      _stop_pool()
    _STATE["runs"] += 1
  try:
    yield
  finally:
    with _LOCK:
      _STATE["runs"] -= 1
    install_context(workers=previous)


def current_pool() -> List[PoolMember]:
  """The workers the context runs on now (none before it starts)."""
  return list(_STATE["pool"])


def pool_addresses() -> List[str]:
  """The HOST:PORT of every worker the context runs on now (none before it starts)."""
  return [member.address for member in current_pool()]


def wire_bytes():
  """The `WireBytes` exchanged with the current pool's workers since it started."""
  from tff_course.runtime.wire_bytes import WireBytes

  return sum((member.wire.total for member in current_pool()), WireBytes())


def ensure_pool() -> List[PoolMember]:
  """Installs the context if needed and starts (or connects to) its workers now. A
  local worker that died is started again, except inside a run (`using_workers`),
  which a worker's death ends: WorkerError names the worker."""
  install_context()
  with _LOCK:
    pool = _STATE["pool"]
    dead = [member for member in pool if member.dead]
    if dead and _STATE["runs"]:
      dead[0].check()
    if not pool or dead:
      _stop_pool()
      pool = _start_pool(_STATE["workers"], _STATE["log_path"])
      _STATE["pool"] = pool
    return pool


def ensure_worker() -> Optional[WorkerProcess]:
  """Starts the workers now (see `ensure_pool`); returns the first local one (None when
  the workers are remote)."""
  return ensure_pool()[0].process


def shutdown_context() -> None:
  """Stops the local workers; the next computation starts fresh ones."""
  with _LOCK:
    _stop_pool()


def _stop_pool() -> None:
  stop_all_workers()
  _STATE["pool"] = []


def _channel(address: str):
  import grpc

  options = [("grpc.max_message_length", _GRPC_MAX_MESSAGE_BYTES),
             ("grpc.max_receive_message_length", _GRPC_MAX_MESSAGE_BYTES),
             ("grpc.max_send_message_length", _GRPC_MAX_MESSAGE_BYTES)]
  return grpc.insecure_channel(address, options)


def _wait_ready(stub, timeout: float) -> bool:
  deadline = time.monotonic() + timeout
  while not stub.is_ready:
    if time.monotonic() > deadline:
      return False
    time.sleep(0.05)
  return True


def wait_for_worker(address: str, process: Optional[WorkerProcess] = None,
                    timeout: Optional[float] = None) -> PoolMember:
  """Connects to the worker at `address` ("HOST:PORT") once it answers.

  Raises:
    WorkerError: a worker of another program did not answer within `timeout` seconds
      (default: 30); or `process`, the worker this program started there, exited first
      or did not answer within its start-up time (`worker.wait_until_ready`).
  """
  import grpc
  import tensorflow_federated as tff

  from tff_course.runtime.wire_bytes import WireCounter

  wire = WireCounter()
  channel = grpc.intercept_channel(_channel(address), wire)
  member = PoolMember(address, tff.framework.RemoteExecutorGrpcStub(channel), process, wire)
  timeout = _CONNECT_TIMEOUT_SECONDS if timeout is None else timeout
  if process is not None:
    wait_until_ready(lambda: member.stub.is_ready, process)
  elif not _wait_ready(member.stub, timeout):
    host, _, port = address.rpartition(":")
    raise WorkerError(f"TFF worker {address} did not answer within {timeout:g} s; start "
                      f"it on {host} with `tff-course worker --port {port}`")
  return member


def _start_pool(workers: WorkerSet, log_path: Optional[str]) -> List[PoolMember]:
  """Connects to the remote workers, or starts the local ones (all before the first gRPC
  channel, whose threads would make gRPC warn about every later fork). Their output is
  discarded when the log's directory is gone (a finished run's, removed since)."""
  import portpicker

  if log_path and not os.path.isdir(os.path.dirname(os.path.abspath(log_path))):
    log_path = None
  pool = [wait_for_worker(f"{host}:{port}") for host, port in workers.addresses]
  local = 0 if workers.addresses else workers.local
  started = [WorkerProcess(portpicker.pick_unused_port(), log_path=log_path, cpus=cpus)
             for cpus in cpu_groups(local)]
  return pool + [wait_for_worker(f"localhost:{worker.port}", worker) for worker in started]


def _executor_factory(index: int):
  import tensorflow_federated as tff

  def stack_fn(cardinalities):
    cardinalities.setdefault(tff.CLIENTS, 0)
    pool = _STATE["pool"]
    if index >= len(pool):
      raise WorkerError("the TFF workers are not running; they stopped or were never "
                        "started")
    pool[index].check()
    executor = concurrent_remote_executor(pool[index].stub)
    executor.set_cardinalities(cardinalities)
    return executor

  return tff.framework.ResourceManagingExecutorFactory(executor_stack_fn=stack_fn)


def _build_context(workers: WorkerSet):
  import tensorflow_federated as tff

  options = dict(compiler_fn=tff.backends.native.desugar_and_transform_to_native,
                 transform_args=tff.tensorflow.transform_args,
                 transform_result=tff.tensorflow.transform_result)
  if not workers.merged:
    class OwnedWorkerContext(tff.framework.SyncExecutionContext):
      """TFF's synchronous C++ context, whose worker starts in the calling thread."""

      def invoke(self, comp, arg):
        ensure_pool()
        return super().invoke(comp, arg)

    return OwnedWorkerContext(executor_fn=_executor_factory(0), **options)

  ordered_merge.install()

  class OwnedWorkersMergeableContext(tff.framework.MergeableCompExecutionContext):
    """TFF's mergeable context over the pool's workers, started in the calling thread."""

    def invoke(self, comp, arg=None):
      ensure_pool()
      return super().invoke(comp, arg)

  contexts = [tff.framework.AsyncExecutionContext(executor_fn=_executor_factory(i), **options)
              for i in range(workers.count)]
  return OwnedWorkersMergeableContext(
      contexts, compiler_fn=tff.backends.native.compile_to_mergeable_comp_form)
