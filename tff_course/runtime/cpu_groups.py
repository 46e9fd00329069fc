"""Disjoint CPU sets for a program's local TFF workers.

Every worker process sizes TensorFlow's thread pools to the CPUs it may use, so N local
workers left on all of a machine's cores run N times as many threads as cores and slow
each other down (2 workers on 2 cores, alternating: rounds 12-14 % longer unpinned than
pinned). Each local worker gets its own share of the CPUs instead (Linux only: elsewhere
the workers are left where the system puts them).
"""

from __future__ import annotations

import os
from typing import List, Optional, Sequence


def cpu_groups(count: int,
               cpus: Optional[Sequence[int]] = None) -> List[Optional[List[int]]]:
  """`count` disjoint, contiguous groups of `cpus` (default: the CPUs this process may
  use), as equal as they can be; [None] * count (no pinning) for a single worker, when
  there are fewer CPUs than workers, or where the system cannot pin processes."""
  if cpus is None:
    if not hasattr(os, "sched_getaffinity"):
      return [None] * count
    cpus = os.sched_getaffinity(0)
  cpus = sorted(cpus)
  if count < 2 or len(cpus) < count:
    return [None] * count
  size, extra = divmod(len(cpus), count)
  groups, start = [], 0
  for index in range(count):
    end = start + size + (1 if index < extra else 0)
    groups.append(cpus[start:end])
    start = end
  return groups


def pin_to(cpus: Optional[Sequence[int]]) -> None:
  """Holds the calling process (and what it starts) to `cpus`; None leaves it."""
  if cpus is not None and hasattr(os, "sched_setaffinity"):
    os.sched_setaffinity(0, cpus)
