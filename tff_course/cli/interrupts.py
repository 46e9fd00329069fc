"""Ctrl-C that always stops the program, whatever Python was running when it came.

Python raises KeyboardInterrupt wherever the main thread is when SIGINT arrives. Inside
a garbage-collector callback or a `__del__` (jax's `_xla_gc_callback` runs often while
TensorFlow starts), the exception is printed as "Exception ignored in ..." and dropped,
and the program carries on as if nothing happened. `catch_interrupts()` records every
SIGINT and, when an interrupt is dropped that way, has a watcher thread deliver it again
to the main thread a moment later (after the hook that saw it dropped has returned),
until it lands in ordinary code, where the command line turns it into exit 130.
"""

from __future__ import annotations

import _thread
import contextlib
import signal
import sys
import threading
import time
from typing import Iterator

_REDELIVERY_DELAY_SECONDS = 0.05
_PENDING_WAIT_SECONDS = 0.5
_STATE = {"interrupted": False, "active": False, "redelivering": False}
_DROPPED = threading.Event()
_WATCHER_LOCK = threading.Lock()
_REDELIVERY_LOCK = threading.Lock()
_WATCHER = []


def was_interrupted() -> bool:
  """Whether SIGINT arrived since the running `catch_interrupts()` began (False outside
  one)."""
  return _STATE["interrupted"]


@contextlib.contextmanager
def catch_interrupts() -> Iterator[None]:
  """Within it, SIGINT raises KeyboardInterrupt as usual, is recorded, and is raised
  again if Python drops it; the previous handlers come back on exit. A no-op outside
  the main thread, where signal handlers cannot be set."""
  if threading.current_thread() is not threading.main_thread():
    yield
    return
  _start_watcher()
  _STATE.update(interrupted=False, active=True)
  previous_handler = signal.signal(signal.SIGINT, _on_sigint)
  previous_hook = sys.unraisablehook
  sys.unraisablehook = _note_dropped_interrupt(previous_hook)
  try:
    yield
  finally:
    with _REDELIVERY_LOCK:
      _STATE.update(interrupted=False, active=False)
    _let_pending_redelivery_land()
    signal.signal(signal.SIGINT, previous_handler)
    sys.unraisablehook = previous_hook


def _on_sigint(signum, frame):
  del signum, frame
  _STATE["redelivering"] = False
  if not _STATE["active"]:
    return
  _STATE["interrupted"] = True
  raise KeyboardInterrupt


def _let_pending_redelivery_land() -> None:
  """A redelivery the watcher sent just before the block ended reaches `_on_sigint`, which
  drops it, rather than the handler restored after the block."""
  deadline = time.monotonic() + _PENDING_WAIT_SECONDS
  while _STATE["redelivering"] and time.monotonic() < deadline:
    time.sleep(0.001)


def _note_dropped_interrupt(previous_hook):
  def hook(unraisable):
    try:
      if isinstance(unraisable.exc_value, KeyboardInterrupt):
        _DROPPED.set()
        return
      previous_hook(unraisable)
    except KeyboardInterrupt:
      _DROPPED.set()
  return hook


def _start_watcher() -> None:
  with _WATCHER_LOCK:
    if not _WATCHER:
      _WATCHER.append(threading.Thread(target=_redeliver_dropped_interrupts,
                                       name="redeliver-sigint", daemon=True))
      _WATCHER[0].start()


def _redeliver_dropped_interrupts() -> None:
  while True:
    _DROPPED.wait()
    _DROPPED.clear()
    time.sleep(_REDELIVERY_DELAY_SECONDS)
    with _REDELIVERY_LOCK:
      if _STATE["active"]:
        _STATE["redelivering"] = True
        _thread.interrupt_main()
