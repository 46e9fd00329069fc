"""The one owner of the coroutines that TFF's program API returns.

TFF's release managers and program state managers are `async`. Running them with
`asyncio.run` fails inside a running event loop (Jupyter, Colab, IPython), so every
coroutine of the toolkit runs here instead: on one event loop in a daemon thread of
its own, which works the same whether or not the calling thread has a loop running.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Awaitable, Optional, TypeVar

T = TypeVar("T")

_LOCK = threading.Lock()
_LOOP: Optional[asyncio.AbstractEventLoop] = None


def run_coroutine(awaitable: Awaitable[T]) -> T:
  """Runs `awaitable` to completion on the toolkit's event loop and returns its result
  (or raises its exception); blocks the calling thread until then."""
  return asyncio.run_coroutine_threadsafe(_as_coroutine(awaitable), _loop()).result()


async def _as_coroutine(awaitable: Awaitable[T]) -> T:
  return await awaitable


def _loop() -> asyncio.AbstractEventLoop:
  global _LOOP
  with _LOCK:
    if _LOOP is None or _LOOP.is_closed():
      loop = asyncio.new_event_loop()
      threading.Thread(target=loop.run_forever, name="tff-course-coroutines",
                       daemon=True).start()
      _LOOP = loop
    return _LOOP
