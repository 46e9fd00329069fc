"""The processes of a distributed job, owned by the controller that started them.

Each process's output lines reach the controller's stderr prefixed with its role
("[worker 1] ..."); lines that begin with "@" go to a callback instead (progress,
readiness). Whatever ends the controller (a normal exit, an exception, Ctrl-C, SIGTERM)
stops every process it started; a process that fails (a non-zero status, a signal) stops
the others and raises `ProcessFailed` with one line naming it. Children get SIGKILL from
the kernel if the controller itself is killed (as the TFF worker does).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from typing import Callable, Dict, List, Optional, Sequence, TypeVar

from tff_course.errors import TffCourseError
from tff_course.runtime.exit_callbacks import cancel, on_exit
from tff_course.runtime.worker import prepare_child
from tff_course.tf_log import child_environment

_STOP_SECONDS = 3.0
_POLL_SECONDS = 0.05
_WATCH_SECONDS = 0.1
T = TypeVar("T")

LineCallback = Callable[[str, str], None]


class ProcessFailed(TffCourseError, RuntimeError):
  """A process of the group ended badly; the message names it."""


def describe_status(status: int) -> str:
  """"exited with status 3" or "was killed by SIGKILL"."""
  if status < 0:
    try:
      return f"was killed by {signal.Signals(-status).name}"
    except ValueError:
      return f"was killed by signal {-status}"
  return f"exited with status {status}"


class ProcessGroup:
  """Starts one process per role; `wait()` until all succeed; `stop()` ends them all. The
  processes get `env`, by default this one's environment with TensorFlow's C++ log at the
  user's level, else quiet (`tf_log.child_environment`).

  Example:
    >>> with ProcessGroup({"worker 0": [...], "worker 1": [...]}) as group:
    ...   group.wait()
  """

  def __init__(self, commands: Dict[str, Sequence[str]], *, on_line: Optional[LineCallback] = None,
               env: Optional[Dict[str, str]] = None, stream=None):
    self._on_line = on_line
    self._stream = stream or sys.stderr
    self._lock = threading.Lock()
    self.processes: Dict[str, subprocess.Popen] = {}
    self._readers: Dict[str, threading.Thread] = {}
    self._exit_token = on_exit(self.stop)
    try:
      for role, command in commands.items():
        self._start(role, list(command), env)
    except BaseException:
      self.stop()
      raise

  def _start(self, role: str, command: List[str], env) -> None:
    process = subprocess.Popen(  # pylint: disable=consider-using-with
        command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        env=env if env is not None else child_environment(), text=True, bufsize=1,
        start_new_session=True,
        preexec_fn=prepare_child if sys.platform.startswith("linux") else None)
    self.processes[role] = process
    reader = threading.Thread(target=self._read, args=(role, process), daemon=True,
                              name=f"output of {role}")
    reader.start()
    self._readers[role] = reader

  def _read(self, role: str, process: subprocess.Popen) -> None:
    for line in process.stdout:
      if line.startswith("@") and self._on_line is not None:
        self._on_line(role, line.rstrip("\n"))
        continue
      with self._lock:
        self._stream.write(f"[{role}] {line}")
        self._stream.flush()

  def failed(self) -> Optional[str]:
    """A role that ended badly, with how; None while none has. A process killed by a
    signal comes before one that exited with an error status: when a worker is killed,
    the coordinator often exits on the broken connection too, and the kill is the
    cause."""
    ended = [(role, status) for role, status in
             ((role, process.poll()) for role, process in self.processes.items())
             if status not in (None, 0)]
    if not ended:
      return None
    role, status = min(ended, key=lambda item: item[1] > 0)
    return f"{role} {describe_status(status)}"

  def wait(self, timeout: Optional[float] = None,
           check: Optional[Callable[[], Optional[str]]] = None,
           roles: Optional[Sequence[str]] = None) -> None:
    """Returns once every process (or every one of `roles`) exited with status 0.

    Args:
      timeout: seconds before giving up (None: no limit).
      check: polled while waiting; a message it returns is a failure (e.g. a worker
        that did not join in time).
      roles: the processes whose end ends the wait (servers that run until stopped are
        left out); default all.

    Raises:
      ProcessFailed: a process ended badly, `check` reported a failure, or `timeout`
        seconds passed; every process is stopped first.
    """
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
      failure = self.failed()
      if failure is not None:
        self.stop()
        raise ProcessFailed(f"{failure}; stopped the other processes")
      problem = check() if check is not None else None
      if problem is not None:
        self.stop()
        raise ProcessFailed(f"{problem}; stopped the processes")
      if all(self.processes[role].poll() == 0 for role in roles or self.processes):
        self._join_readers(roles)
        return
      if deadline is not None and time.monotonic() > deadline:
        self.stop()
        raise ProcessFailed(f"the processes did not finish within {timeout:g} s; stopped them")
      time.sleep(_POLL_SECONDS)

  def stop(self) -> None:
    """Ends every process still running (SIGTERM, then SIGKILL) and reaps it."""
    for process in self.processes.values():
      if process.poll() is None:
        process.terminate()
    deadline = time.monotonic() + _STOP_SECONDS
    for process in self.processes.values():
      try:
        process.wait(timeout=max(deadline - time.monotonic(), 0.01))
      except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    self._join_readers()
    cancel(self._exit_token)

  def _join_readers(self, roles: Optional[Sequence[str]] = None) -> None:
    for role in roles or list(self._readers):
      self._readers[role].join(timeout=_STOP_SECONDS)

  def __enter__(self) -> "ProcessGroup":
    return self

  def __exit__(self, *exc_info) -> None:
    self.stop()


def wait_ready(group: ProcessGroup, ready: set, count: int, timeout: float, what: str) -> None:
  """Returns once `count` roles are in `ready` (filled by the group's line callback);
  otherwise stops the group and raises ProcessFailed (`what`, e.g. "the stages", names
  them in the message)."""
  deadline = time.monotonic() + timeout
  while len(ready) < count:
    failure = group.failed()
    if failure is not None:
      group.stop()
      raise ProcessFailed(f"{failure} before serving; stopped the other processes")
    if time.monotonic() > deadline:
      group.stop()
      raise ProcessFailed(f"{what} did not serve within {timeout:g} s; stopped them")
    time.sleep(_POLL_SECONDS)


def watched(work: Callable[[], T], group: ProcessGroup) -> T:
  """`work()` run in a thread while this one watches the group: a process that dies ends
  the run with ProcessFailed naming it (also when `work` failed first, on a connection
  the death reset), and signals (Ctrl-C, SIGTERM) reach this thread even while
  TensorFlow blocks the other in C++."""
  outcome = {}

  def run():
    try:
      outcome["value"] = work()
    except BaseException as error:  # pylint: disable=broad-except
      outcome["error"] = error

  thread = threading.Thread(target=run, daemon=True, name="distributed controller")
  thread.start()
  while thread.is_alive():
    thread.join(_WATCH_SECONDS)
    _raise_if_failed(group, 0.0)
  if "error" in outcome:
    _raise_if_failed(group, _STOP_SECONDS)
    raise outcome["error"]
  return outcome["value"]


def _raise_if_failed(group: ProcessGroup, grace: float) -> None:
  """ProcessFailed naming a process of the group that ended badly, waiting up to `grace`
  seconds for one (an RPC to a killed process can fail before the kernel reaps it)."""
  deadline = time.monotonic() + grace
  while True:
    failure = group.failed()
    if failure is not None:
      group.stop()
      raise ProcessFailed(f"{failure}; stopped the other processes")
    if time.monotonic() >= deadline:
      return
    time.sleep(_POLL_SECONDS)
