"""Run directories: the config and versions saved with every output, and the reference run.

A run directory holds `config.json` (the command, its settings, the data's origin and
the library versions) next to what the command made. Rerunning into a directory whose
config differs is refused, so a resumed sweep never mixes settings.
"""

from __future__ import annotations

import csv
import io
import json
import os
import time
from typing import Callable, Dict, List, Optional

from pruning.reference import TaskData, build_reference_model
from pruning.training import FitSettings, accuracy, fit
from tff_course.atomic import write_text
from tff_course.errors import ConfigError
from tff_course.versions import environment_versions

CONFIG_FILE = "config.json"


def write_config(output_dir: str, command: str, settings: Dict, data: TaskData) -> str:
  """Writes `output_dir`/config.json, refusing a directory made with other settings."""
  path = os.path.join(output_dir, CONFIG_FILE)
  record = {"command": command, "settings": settings, "data": data_record(data)}
  if os.path.isfile(path):
    with open(path, encoding="utf-8") as stream:
      earlier = json.load(stream)
    if {key: earlier.get(key) for key in record} != json.loads(json.dumps(record)):
      raise ConfigError(f"--out: {output_dir} holds a run with other settings "
                        f"(see {path}); give a new directory")
  write_text(path, json.dumps({**record, "versions": environment_versions()}, indent=2) +
             "\n")
  return path


def data_record(data: TaskData) -> Dict:
  """Where the data came from and how large each split is."""
  return {"source": data.source, "classes": list(data.label_names), "train": len(data.train),
          "validation": len(data.validation), "test": len(data.test), "notes": data.notes}


def train_reference(data: TaskData, settings: FitSettings, *,
                    on_epoch_end: Optional[Callable[[int, Dict], None]] = None):
  """Trains the reference network from the seed; returns (model, per-epoch metrics).

  Each epoch's metrics include the test accuracy, measured for the record only, and the
  wall time since training began.
  """
  model = build_reference_model(seed=settings.seed)
  rows: List[Dict] = []
  start = time.perf_counter()

  def record(epoch: int, logs: Dict) -> None:
    row = {"epoch": epoch, **logs, "test_accuracy": accuracy(model, data.test),
           "seconds": round(time.perf_counter() - start, 2)}
    rows.append(row)
    if on_epoch_end is not None:
      on_epoch_end(epoch, row)

  fit(model, data.train, settings, validation=data.validation, on_epoch_end=record)
  return model, rows


def write_metrics(rows: List[Dict], path: str) -> None:
  """Per-epoch metrics as CSV."""
  buffer = io.StringIO()
  if rows:
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
  write_text(path, buffer.getvalue())
