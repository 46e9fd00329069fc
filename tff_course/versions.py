"""The versions a run used, saved with its results."""

from __future__ import annotations

import importlib.metadata
import platform
from typing import Dict

import tff_course

_DISTRIBUTIONS = ("numpy", "tensorflow", "tensorflow-federated", "tensorflow-datasets",
                  "keras-cv", "matplotlib")


def environment_versions() -> Dict[str, str]:
  """Python, tff-course and the main libraries' versions ("not installed" if absent)."""
  versions = {"python": platform.python_version(), "tff-course": tff_course.__version__,
              "platform": platform.platform()}
  for name in _DISTRIBUTIONS:
    try:
      versions[name] = importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
      versions[name] = "not installed"
  return versions
