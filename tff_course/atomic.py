"""Writing files so that a reader never sees half of one: write a temp file, then rename."""

from __future__ import annotations

import contextlib
import os
import tempfile
from typing import Iterator


@contextlib.contextmanager
def atomic_path(path: str) -> Iterator[str]:
  """Yields a temporary path beside `path`; renames it onto `path` if the block succeeds.

  The temporary file keeps `path`'s extension, so writers that infer the format from
  the name (matplotlib, gzip by suffix) behave as for `path` itself.
  """
  directory = os.path.dirname(os.path.abspath(path))
  os.makedirs(directory, exist_ok=True)
  extension = "".join(os.path.basename(path).partition(".")[1:])
  fd, temp = tempfile.mkstemp(prefix=".tmp-", suffix=extension, dir=directory)
  os.close(fd)
  try:
    yield temp
    os.chmod(temp, 0o666 & ~_umask())
    os.replace(temp, path)
  finally:
    if os.path.exists(temp):
      os.remove(temp)


def write_text(path: str, text: str) -> None:
  """Writes `text` to `path` atomically."""
  with atomic_path(path) as temp:
    with open(temp, "w", encoding="utf-8") as stream:
      stream.write(text)


def _umask() -> int:
  mask = os.umask(0)
  os.umask(mask)
  return mask
