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

from tff_course.runtime.worker import (WorkerProcess, install_exit_handlers,
                                       stop_all_workers, wait_until_ready)

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
      from tensorflow_federated.python.core.impl.context_stack import context_stack_impl
      context_stack_impl.context_stack.set_default_context(_STATE["context"])


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
  from tensorflow_federated.python.core.impl.executors import remote_executor_grpc_stub

  install_exit_handlers()
  worker = WorkerProcess(portpicker.pick_unused_port(), log_path=log_path)
  options = [("grpc.max_message_length", _GRPC_MAX_MESSAGE_BYTES),
             ("grpc.max_receive_message_length", _GRPC_MAX_MESSAGE_BYTES),
             ("grpc.max_send_message_length", _GRPC_MAX_MESSAGE_BYTES)]
  channel = grpc.insecure_channel(f"localhost:{worker.port}", options)
  stub = remote_executor_grpc_stub.RemoteExecutorGrpcStub(channel)
  wait_until_ready(lambda: stub.is_ready, worker)
  return worker, stub


def _build_context():
  from tensorflow_federated.python.core.backends.native import compiler
  from tensorflow_federated.python.core.environments.tensorflow_frontend import \
      tensorflow_computation
  from tensorflow_federated.python.core.impl.execution_contexts import \
      sync_execution_context
  from tensorflow_federated.python.core.impl.executor_stacks import python_executor_stacks
  from tensorflow_federated.python.core.impl.executors import remote_executor
  from tensorflow_federated.python.core.impl.types import placements

  def stack_fn(cardinalities):
    cardinalities.setdefault(placements.CLIENTS, 0)
    worker, stub = _STATE["worker"], _STATE["stub"]
    if worker is None or not worker.running():
      raise RuntimeError("the TFF worker is not running; it stopped or was never started "
                         f"(its log: {worker.log_path if worker else 'none'})")
    executor = remote_executor.RemoteExecutor(stub)
    executor.set_cardinalities(cardinalities)
    return executor

  class OwnedWorkerContext(sync_execution_context.SyncExecutionContext):
    """TFF's synchronous C++ context, whose worker starts in the calling thread."""

    def invoke(self, comp, arg):
      ensure_worker()
      return super().invoke(comp, arg)

  factory = python_executor_stacks.ResourceManagingExecutorFactory(
      executor_stack_fn=stack_fn)
  return OwnedWorkerContext(
      executor_fn=factory, compiler_fn=compiler.desugar_and_transform_to_native,
      transform_args=tensorflow_computation.transform_args,
      transform_result=tensorflow_computation.transform_result)
