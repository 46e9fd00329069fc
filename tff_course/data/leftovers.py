"""Removing what a failed step added to directories that others share."""

from __future__ import annotations

import contextlib
import os
import shutil
from typing import Dict, FrozenSet, Iterator, Optional, Sequence


@contextlib.contextmanager
def removed_on_failure(directories: Sequence[str]) -> Iterator[None]:
  """On any exception, removes what was added to `directories`, then re-raises.

  A directory that did not exist before is removed whole; in one that did, only the
  entries that were not there before are removed. Pass a directory before those inside
  it. Nothing is removed when the block succeeds.
  """
  before = {directory: entries(directory) for directory in directories}
  try:
    yield
  except BaseException:
    remove_added(before)
    raise


def entries(directory: str) -> Optional[FrozenSet[str]]:
  """The names in `directory`, or None when it is not a directory."""
  if not os.path.isdir(directory):
    return None
  return frozenset(os.listdir(directory))


def remove_added(before: Dict[str, Optional[FrozenSet[str]]]) -> None:
  """Removes each directory of `before` that was absent (None) and each entry added since."""
  for directory, names in before.items():
    if names is None:
      _remove(directory)
    elif os.path.isdir(directory):
      for name in sorted(set(os.listdir(directory)) - names):
        _remove(os.path.join(directory, name))


def _remove(path: str) -> None:
  if os.path.isdir(path) and not os.path.islink(path):
    shutil.rmtree(path, ignore_errors=True)
  elif os.path.lexists(path):
    with contextlib.suppress(OSError):
      os.remove(path)
