"""Where a command writes: checked before any work, and left clean when setup fails."""

from __future__ import annotations

import contextlib
import os
from typing import Iterator, List

from tff_course.errors import ConfigError


def check_output_dir(path: str, flag: str) -> None:
  """ConfigError naming `flag` unless `path` is a directory it can write into, or one it
  can create (its first existing ancestor is a writable directory). Creates nothing."""
  if os.path.exists(path) and not os.path.isdir(path):
    raise ConfigError(f"{flag}: got {path!r}, which is a file; expected a directory (new "
                      f"or existing)")
  _check_writable_ancestor(path, flag, "a directory it can write into")


def check_output_file(path: str, flag: str) -> None:
  """ConfigError naming `flag` unless `path` names a file it can write (new, or one to
  replace) in a directory that exists or that it can create. Creates nothing."""
  if os.path.isdir(path):
    raise ConfigError(f"{flag}: got {path!r}, which is a directory; expected a file name")
  _check_writable_ancestor(os.path.dirname(os.path.abspath(path)), flag,
                           "a file in a directory it can write into", shown=path)


@contextlib.contextmanager
def removed_if_left_empty(path: str) -> Iterator[None]:
  """Runs the block; if it raises, removes the directories of `path` (and the empty
  ones under it) that did not exist before it and hold no file."""
  missing = _missing_directories(path)
  try:
    yield
  except BaseException:
    for directory in missing:
      _remove_empty_tree(directory)
    raise


def _check_writable_ancestor(path: str, flag: str, expected: str, shown: str = None) -> None:
  shown = path if shown is None else shown
  ancestor = _first_existing(path)
  if not os.path.isdir(ancestor):
    raise ConfigError(f"{flag}: got {shown!r}, which lies under the file {ancestor!r}; "
                      f"expected a path in a directory")
  if not os.access(ancestor, os.W_OK | os.X_OK):
    raise ConfigError(f"{flag}: got {shown!r}, but {ancestor!r} is not writable; expected "
                      f"{expected}")


def _first_existing(path: str) -> str:
  missing = _missing_directories(path)
  return os.path.dirname(missing[-1]) if missing else os.path.abspath(path)


def _missing_directories(path: str) -> List[str]:
  """The ancestors of `path` (itself included) that do not exist, deepest first."""
  missing, current = [], os.path.abspath(path)
  while not os.path.exists(current):
    missing.append(current)
    current = os.path.dirname(current)
  return missing


def _remove_empty_tree(directory: str) -> None:
  if not os.path.isdir(directory) or os.path.islink(directory):
    return
  for name in os.listdir(directory):
    _remove_empty_tree(os.path.join(directory, name))
  with contextlib.suppress(OSError):
    os.rmdir(directory)
