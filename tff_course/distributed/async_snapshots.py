"""The weights an asynchronous SGD job read off its parameter servers during the run, with
how many updates had been applied when it read them: what its accuracy curve is drawn from.

A snapshot of a running asynchronous job is what a checkpoint of it would hold: the
variables are read one after another while workers keep updating them.
"""

from __future__ import annotations

import dataclasses
from typing import List, Sequence

import numpy as np

from tff_course.atomic import atomic_path

SNAPSHOTS_FILE = "snapshots.npz"


@dataclasses.dataclass(frozen=True)
class Snapshot:
  """The trainable weights after `version` applied updates, `seconds` after the first
  dispatch."""

  version: int
  seconds: float
  weights: List[np.ndarray]


def write_snapshots(path: str, snapshots: Sequence[Snapshot]) -> None:
  """Writes the snapshots to one .npz file (through a temporary file)."""
  arrays = {"versions": np.array([s.version for s in snapshots], dtype=np.int64),
            "seconds": np.array([s.seconds for s in snapshots], dtype=np.float64)}
  for k, snapshot in enumerate(snapshots):
    arrays.update({f"w{k}_{i}": value for i, value in enumerate(snapshot.weights)})
  with atomic_path(path) as temp:
    with open(temp, "wb") as stream:
      np.savez(stream, **arrays)


def read_snapshots(path: str) -> List[Snapshot]:
  """The snapshots `write_snapshots` wrote, in the order they were taken."""
  with np.load(path) as stored:
    versions, seconds = stored["versions"], stored["seconds"]
    count = sum(1 for name in stored.files if name.startswith("w0_"))
    return [Snapshot(int(versions[k]), float(seconds[k]),
                     [stored[f"w{k}_{i}"] for i in range(count)])
            for k in range(len(versions))]
