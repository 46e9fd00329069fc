"""Standard output and error that survive their reader going away.

`tff-course train ... 2>&1 | head -c 300` closes the pipe after 300 bytes; the next
progress-bar update then raised BrokenPipeError, which stopped a training run half-way
with nothing said anywhere. Within `tolerate_closed_output()`, a stream whose reader has
gone is pointed at /dev/null (file descriptor and all, so C++ logging and the final
flush at exit do not fail either) and the program finishes its work: its results are
in files. If standard error is still open when standard output closes, one line there
says so.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
from typing import Iterator, TextIO


class _ToleratesClosedReader(io.TextIOBase):
  """Delegates to `stream`; after a broken pipe, writes go to /dev/null."""

  def __init__(self, stream: TextIO, on_close):
    super().__init__()
    self._stream = stream
    self._on_close = on_close
    self.closed_reader = False

  def write(self, text: str) -> int:
    return self._guarded(self._stream.write, text, default=len(text))

  def flush(self) -> None:
    self._guarded(self._stream.flush, default=None)

  def _guarded(self, operation, *args, default):
    try:
      return operation(*args)
    except BrokenPipeError:
      self._discard_from_now_on()
      return default

  def _discard_from_now_on(self) -> None:
    if self.closed_reader:
      return
    self.closed_reader = True
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, self._stream.fileno())
    os.close(devnull)
    self._on_close(self)

  def __getattr__(self, name):
    if name == "_stream":
      raise AttributeError(name)
    return getattr(self._stream, name)

  def fileno(self) -> int:
    return self._stream.fileno()

  def isatty(self) -> bool:
    return self._stream.isatty()

  def writable(self) -> bool:
    return True

  @property
  def encoding(self):
    return self._stream.encoding

  @property
  def errors(self):
    return self._stream.errors


@contextlib.contextmanager
def tolerate_closed_output(prog: str) -> Iterator[None]:
  """Replaces sys.stdout and sys.stderr by streams that survive a closed pipe."""
  originals = sys.stdout, sys.stderr

  def note(stream):
    if stream is sys.stdout and not getattr(sys.stderr, "closed_reader", False):
      print(f"{prog}: note: standard output was closed; the rest of it is discarded and "
            f"the work goes on (its results are in files)", file=sys.stderr)

  sys.stdout = _ToleratesClosedReader(originals[0], note)
  sys.stderr = _ToleratesClosedReader(originals[1], note)
  try:
    yield
  finally:
    for stream in (sys.stdout, sys.stderr):
      stream.flush()
    sys.stdout, sys.stderr = originals
