"""Process lifetime: the program's single TFF execution context and its worker."""

from tff_course.runtime.context import ensure_worker, install_context, shutdown_context
from tff_course.runtime.worker import WorkerProcess, stop_all_workers

__all__ = ["WorkerProcess", "ensure_worker", "install_context", "shutdown_context",
           "stop_all_workers"]
