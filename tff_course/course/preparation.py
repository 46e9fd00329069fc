"""Arms that fine-tune a pre-trained model: their start weights and masks, prepared once
per distinct preparation in RUN_DIR/prepared/KEY by `tff_course.sparse.prepare`; the
heads they fit on the frozen backbone are kept in RUN_DIR/prepared/heads and reused by
preparations that differ only in their masks.

An arm's config names them as "prepared/KEY/init.weights.h5" and ".../masks.npz",
relative to the experiment's run directory; `resolved` makes them absolute before the
runs are checked or run. A federated preparation calibrates the masks on the clients of
the arm's own partition.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from typing import List, Optional, Sequence

from tff_course.sparse.prepare import INIT_WEIGHTS, MASKS, PrepareSettings

PREPARED_DIR = "prepared"
HEADS_DIR = "heads"


@dataclasses.dataclass(frozen=True)
class Preparation:
  """What an arm starts from: `prepare`'s settings, calibrated centrally or federated."""

  key: str
  settings: PrepareSettings
  federated: bool = False

  def train_fields(self) -> dict:
    """The arm config's train.init_weights and train.masks, relative to the run dir."""
    return {"init_weights": os.path.join(PREPARED_DIR, self.key, INIT_WEIGHTS),
            "masks": os.path.join(PREPARED_DIR, self.key, MASKS)}

  def description(self) -> dict:
    return {"key": self.key, "federated": self.federated,
            **dataclasses.asdict(self.settings)}


def resolved(arm, run_dir: str):
  """The arm with its prepared files' paths under `run_dir` (absolute)."""
  if arm.preparation is None:
    return arm
  folder = os.path.abspath(os.path.join(run_dir, PREPARED_DIR, arm.preparation.key))
  changes = [f"train.init_weights={os.path.join(folder, INIT_WEIGHTS)}",
             f"train.masks={os.path.join(folder, MASKS)}"]
  return dataclasses.replace(arm, config=arm.config.with_overrides(changes))


def prepare_arms(arms: Sequence, run_dir: str, data_dir: Optional[str],
                 progress: bool) -> List[str]:
  """Prepares every distinct preparation of `arms` (done ones are kept) on the examples
  of the first arm that needs it (its data.limit); returns their folders."""
  from tff_course.sparse.prepare import prepare

  done, folders = {}, []
  for arm in arms:
    preparation = arm.preparation
    if preparation is None or preparation.key in done:
      continue
    folder = os.path.join(run_dir, PREPARED_DIR, preparation.key)
    print(f"[prepare] {preparation.key}", file=sys.stderr, flush=True)
    clients = _client_indices(arm, data_dir) if preparation.federated else None
    settings = dataclasses.replace(preparation.settings, limit=arm.config.data.limit)
    prepare(settings, folder, data_dir=data_dir or arm.config.data.data_dir,
            client_indices=clients, head_cache=os.path.join(run_dir, PREPARED_DIR, HEADS_DIR),
            progress=progress)
    done[preparation.key] = folder
    folders.append(folder)
  return folders


def _client_indices(arm, data_dir: Optional[str]):
  """The training-example indices of each client of the arm's partition."""
  from tff_course.experiment.federation import build_federation

  with build_federation(arm.config, data_dir=data_dir) as federation:
    return [device.indices for device in federation.devices]
