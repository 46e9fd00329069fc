"""Finding the real dataset files for tests: $TFF_COURSE_DATA_DIR, else ../shared/data."""

import os
import unittest

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def shared_data_dir():
  """The directory of official dataset files, or None when there is none."""
  candidates = [os.environ.get("TFF_COURSE_DATA_DIR"),
                os.path.join(_REPO, "..", "shared", "data")]
  for candidate in candidates:
    if candidate and os.path.isdir(candidate):
      return os.path.abspath(candidate)
  return None


def requires_data(*parts):
  """Skips a test, saying why, unless data_dir/parts exists."""
  directory = shared_data_dir()
  if directory is None:
    return unittest.skip("no dataset files: set TFF_COURSE_DATA_DIR or put them in "
                         "../shared/data")
  if not os.path.exists(os.path.join(directory, *parts)):
    return unittest.skip(f"{os.path.join(directory, *parts)} is not there")
  return lambda test: test
