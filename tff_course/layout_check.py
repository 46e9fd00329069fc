"""Comparing two sets of named arrays: which names are missing, unexpected, or of another
shape; the words for a one-line error message."""

from __future__ import annotations

from typing import List, Mapping, Sequence, Tuple

SHOWN = 3


def layout_differences(found: Mapping[str, object], expected: Mapping[str, Tuple[int, ...]]
                       ) -> Tuple[List[str], List[str], List[str]]:
  """(names missing from `found`, names `found` has that `expected` lacks, "name (shape)
  (expected (shape))" for the names in both whose shapes differ)."""
  import numpy as np

  missing = [name for name in expected if name not in found]
  unexpected = [name for name in found if name not in expected]
  wrong = [f"{name} {tuple(np.shape(found[name]))} (expected {tuple(shape)})"
           for name, shape in expected.items()
           if name in found and tuple(np.shape(found[name])) != tuple(shape)]
  return missing, unexpected, wrong


def listed(names: Sequence[str], shown: int = SHOWN) -> str:
  """"a, b, c, ... 4 more": the first `shown` names and how many others."""
  text = ", ".join(names[:shown])
  return text + (f", ... {len(names) - shown} more" if len(names) > shown else "")
