"""The one TFF execution context of a program: created on first use, torn down at exit.

Library code calls `ensure_context()` before running a TFF computation; nothing else
in the toolkit creates contexts. The context is TFF's own synchronous C++ execution
context, wired to a worker process that this module owns (see `worker.py`).
"""

from __future__ import annotations

import threading
from typing import Optional

from tff_course.runtime.worker import (WorkerProcess, install_exit_handlers,
                                       stop_all_workers, wait_until_ready)

_GRPC_MAX_MESSAGE_BYTES = 2 * 1000 * 1000 * 1000
_LOCK = threading.Lock()
_STATE = {"worker": None, "context": None}


def ensure_context(*, log_path: Optional[str] = None) -> WorkerProcess:
  """Installs the toolkit's execution context as TFF's default, once; returns its worker.

  Args:
    log_path: file that receives the worker's own output (default: discarded).
  """
  with _LOCK:
    worker = _STATE["worker"]
    if worker is not None and worker.running():
      return worker
    install_exit_handlers()
    worker, context = _start(log_path)
    _STATE.update(worker=worker, context=context)
    return worker


def shutdown_context() -> None:
  """Stops the worker; the next `ensure_context()` starts a fresh one."""
  with _LOCK:
    stop_all_workers()
    _STATE.update(worker=None, context=None)


def _start(log_path: Optional[str]):
  import grpc
  import portpicker
  from tensorflow_federated.python.core.backends.native import compiler
  from tensorflow_federated.python.core.environments.tensorflow_frontend import \
      tensorflow_computation
  from tensorflow_federated.python.core.impl.context_stack import context_stack_impl
  from tensorflow_federated.python.core.impl.execution_contexts import \
      sync_execution_context
  from tensorflow_federated.python.core.impl.executor_stacks import python_executor_stacks
  from tensorflow_federated.python.core.impl.executors import (remote_executor,
                                                               remote_executor_grpc_stub)
  from tensorflow_federated.python.core.impl.types import placements

  worker = WorkerProcess(portpicker.pick_unused_port(), log_path=log_path)
  options = [("grpc.max_message_length", _GRPC_MAX_MESSAGE_BYTES),
             ("grpc.max_receive_message_length", _GRPC_MAX_MESSAGE_BYTES),
             ("grpc.max_send_message_length", _GRPC_MAX_MESSAGE_BYTES)]
  channel = grpc.insecure_channel(f"localhost:{worker.port}", options)
  stub = remote_executor_grpc_stub.RemoteExecutorGrpcStub(channel)
  wait_until_ready(lambda: stub.is_ready, worker)

  def stack_fn(cardinalities):
    cardinalities.setdefault(placements.CLIENTS, 0)
    if not worker.running():
      raise RuntimeError(f"the TFF worker (pid {worker.pid}) has stopped; see "
                         f"{worker.log_path}")
    executor = remote_executor.RemoteExecutor(stub)
    executor.set_cardinalities(cardinalities)
    return executor

  factory = python_executor_stacks.ResourceManagingExecutorFactory(
      executor_stack_fn=stack_fn)
  context = sync_execution_context.SyncExecutionContext(
      executor_fn=factory, compiler_fn=compiler.desugar_and_transform_to_native,
      transform_args=tensorflow_computation.transform_args,
      transform_result=tensorflow_computation.transform_result)
  context_stack_impl.context_stack.set_default_context(context)
  return worker, context
