"""The versions a run used, saved with its results."""

from __future__ import annotations

import importlib.metadata
import os
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


def machine_description() -> str:
  """CPU model, core count and Python version, e.g. for benchmark results."""
  model = platform.processor() or platform.machine()
  try:
    with open("/proc/cpuinfo", encoding="utf-8") as stream:
      names = [line.split(":", 1)[1].strip() for line in stream
               if line.startswith("model name")]
    model = names[0] if names else model
  except OSError:
    pass
  return f"{model}, {os.cpu_count()} cores, Python {platform.python_version()}"
