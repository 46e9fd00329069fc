"""Disjoint CPU sets for a program's local TFF workers.

Every worker process sizes TensorFlow's thread pools to the CPUs it may use, so N local
workers left on all of a machine's cores run N times as many threads as cores and slow
each other down (benchmarks/RESULTS.md: on 2 cores, 2 unpinned workers made a round 1.4x
slower than one worker). Each local worker gets its own share of the CPUs instead.
"""

from __future__ import annotations

import os
from typing import List, Optional, Sequence


def cpu_groups(count: int, cpus: Optional[Sequence[int]] = None) -> List[Optional[List[int]]]:
  """`count` disjoint, contiguous groups of `cpus` (default: the CPUs this process may
  use), as equal as they can be; [None] * count (no pinning) for a single worker or when
  there are fewer CPUs than workers."""
  cpus = sorted(os.sched_getaffinity(0) if cpus is None else cpus)
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
