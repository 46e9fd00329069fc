"""The one TFF execution context of a program, and the worker process behind it.

`install_context()` makes the toolkit's context TFF's default (replacing the one TFF
installs at import, whose worker nobody stops). The worker starts on the first
computation, from the calling thread, and `worker.py` makes sure it stops. Library
code that runs TFF computations calls `install_context()` (or `ensure_worker()`);
nothing else in the toolkit creates contexts.
"""

from __future__ import annotations

import threading
from typing import Optional

from tff_course.runtime.worker import WorkerProcess, stop_all_workers, wait_until_ready

_GRPC_MAX_MESSAGE_BYTES = 2 * 1000 * 1000 * 1000
_LOCK = threading.RLock()
_STATE = {"context": None, "worker": None, "stub": None, "log_path": None}


def install_context(*, log_path: Optional[str] = None) -> None:
  """Makes the toolkit's execution context TFF's default (once; cheap, starts nothing).

  Args:
    log_path: file that receives the worker's own output (default: discarded).
  """
  with _LOCK:
    if log_path is not None:
      _STATE["log_path"] = log_path
    if _STATE["context"] is None:
      _STATE["context"] = _build_context()
      import tensorflow_federated as tff
      tff.framework.set_default_context(_STATE["context"])


def ensure_worker() -> WorkerProcess:
  """Installs the context if needed and starts its worker now; returns the worker."""
  install_context()
  with _LOCK:
    worker = _STATE["worker"]
    if worker is None or not worker.running():
      worker, stub = _start_worker(_STATE["log_path"])
      _STATE.update(worker=worker, stub=stub)
    return worker


def shutdown_context() -> None:
  """Stops the worker; the next computation starts a fresh one."""
  with _LOCK:
    stop_all_workers()
    _STATE.update(worker=None, stub=None)


def _start_worker(log_path: Optional[str]):
  import grpc
  import portpicker
  import tensorflow_federated as tff

  worker = WorkerProcess(portpicker.pick_unused_port(), log_path=log_path)
  options = [("grpc.max_message_length", _GRPC_MAX_MESSAGE_BYTES),
             ("grpc.max_receive_message_length", _GRPC_MAX_MESSAGE_BYTES),
             ("grpc.max_send_message_length", _GRPC_MAX_MESSAGE_BYTES)]
  channel = grpc.insecure_channel(f"localhost:{worker.port}", options)
  stub = tff.framework.RemoteExecutorGrpcStub(channel)
  wait_until_ready(lambda: stub.is_ready, worker)
  return worker, stub


def _build_context():
  import tensorflow_federated as tff

  def stack_fn(cardinalities):
    cardinalities.setdefault(tff.CLIENTS, 0)
    worker, stub = _STATE["worker"], _STATE["stub"]
    if worker is None or not worker.running():
      raise RuntimeError("the TFF worker is not running; it stopped or was never started "
                         f"(its log: {worker.log_path if worker else 'none'})")
    executor = tff.framework.RemoteExecutor(stub)
    executor.set_cardinalities(cardinalities)
    return executor

  class OwnedWorkerContext(tff.framework.SyncExecutionContext):
    """TFF's synchronous C++ context, whose worker starts in the calling thread."""

    def invoke(self, comp, arg):
      ensure_worker()
      return super().invoke(comp, arg)

  factory = tff.framework.ResourceManagingExecutorFactory(executor_stack_fn=stack_fn)
  return OwnedWorkerContext(
      executor_fn=factory, compiler_fn=tff.backends.native.desugar_and_transform_to_native,
      transform_args=tff.tensorflow.transform_args,
      transform_result=tff.tensorflow.transform_result)
