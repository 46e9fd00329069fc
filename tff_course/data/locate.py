"""Where official dataset files are looked for: a flag, else an environment variable."""

from __future__ import annotations

import os
from typing import Optional, Sequence

from tff_course.errors import DataError

DATA_DIR_ENV = "TFF_COURSE_DATA_DIR"


def add_data_dir(parser) -> None:
  """The --data-dir option of a command-line parser (`resolve_data_dir` reads it)."""
  parser.add_argument("--data-dir",
                      help=f"directory holding the official dataset files (default: "
                           f"${DATA_DIR_ENV}; without either, real datasets download "
                           f"through tensorflow-datasets)")


def resolve_data_dir(data_dir: Optional[str]) -> Optional[str]:
  """Returns `data_dir`, else $TFF_COURSE_DATA_DIR, else None (download instead).

  Raises:
    DataError: the directory named does not exist.
  """
  chosen = data_dir or os.environ.get(DATA_DIR_ENV) or None
  if chosen is None:
    return None
  origin = "--data-dir" if data_dir else f"${DATA_DIR_ENV}"
  if not os.path.isdir(chosen):
    raise DataError(f"{origin}: {chosen!r} is not a directory")
  return chosen


def find_folder(data_dir: str, dataset: str, candidates: Sequence[str]) -> str:
  """Returns the first `data_dir/candidate` that is a directory.

  Raises:
    DataError: no candidate holds it; the message lists every place looked at.
  """
  for candidate in candidates:
    folder = os.path.join(data_dir, candidate)
    if os.path.isdir(folder):
      return folder
  looked = ", ".join(os.path.join(data_dir, c) for c in candidates)
  raise DataError(
      f"{dataset}: no data found in {data_dir} (looked for {looked}); put the official "
      f"files there, or leave out the data directory to download them")
