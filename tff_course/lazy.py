"""A package's public names, imported from their modules when first read (PEP 562)."""

from __future__ import annotations

import importlib
from typing import Callable, Dict


def lazy_exports(package: str, modules: Dict[str, str]) -> Callable[[str], object]:
  """The module-level `__getattr__` for `package`: reading `name` imports the submodule
  `modules[name]` and returns its `name`. Importing the package imports none of them,
  so its light parts (plain NumPy, argument parsing) never pull in TensorFlow."""

  def attribute(name: str):
    if name not in modules:
      raise AttributeError(f"module {package!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{package}.{modules[name]}"), name)

  return attribute
