"""Work that must happen however the program ends: normal exit, an exception, SIGTERM
or SIGHUP (SIGKILL cannot be caught; the next run cleans up after it).

TFF's workers are stopped and a run's client record files deleted through here. On
SIGTERM/SIGHUP the callbacks run in the signal handler itself, newest first, before
the program ends as the signal's previous disposition says: the handler does not rely
on an exception unwinding the stack, which Python drops when the signal lands in a
destructor or a garbage-collector callback.
"""

from __future__ import annotations

import atexit
import itertools
import os
import signal
import threading
from typing import Callable, Dict

_CALLBACKS: Dict[int, Callable[[], None]] = {}
_TOKENS = itertools.count()
_LOCK = threading.RLock()
_INSTALLED = threading.Event()
_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


def on_exit(callback: Callable[[], None]) -> int:
  """Runs `callback` when the program ends, unless `cancel(token)` comes first."""
  _install_handlers()
  with _LOCK:
    token = next(_TOKENS)
    _CALLBACKS[token] = callback
  return token


def cancel(token: int) -> None:
  """Forgets the callback of `token` (once its work is done another way)."""
  with _LOCK:
    _CALLBACKS.pop(token, None)


def run_exit_callbacks() -> None:
  """Runs and forgets every registered callback, newest first; one failing does not
  stop the others."""
  with _LOCK:
    callbacks = [_CALLBACKS.pop(token) for token in sorted(_CALLBACKS, reverse=True)]
  for callback in callbacks:
    try:
      callback()
    except Exception:  # pylint: disable=broad-except
      pass


def _install_handlers() -> None:
  if _INSTALLED.is_set():
    return
  _INSTALLED.set()
  atexit.register(run_exit_callbacks)
  if threading.current_thread() is not threading.main_thread():
    return
  for signum in _SIGNALS:
    previous = signal.getsignal(signum)
    signal.signal(signum, _make_handler(signum, previous))


def _make_handler(signum: int, previous):
  def handler(received, frame):
    run_exit_callbacks()
    if callable(previous):
      previous(received, frame)
    else:
      signal.signal(signum, signal.SIG_DFL)
      os.kill(os.getpid(), signum)
  return handler
