"""The files of an arm run outside the federated runner (NumPy, distributed jobs): its
settings as config.json, versions.json, and its metrics.csv in the runner's format,
written last so that a run with metrics is a finished run."""

from __future__ import annotations

import csv
import io
import json
import os
from typing import Any, Dict, List, Mapping, Sequence

from tff_course.atomic import write_text
from tff_course.versions import environment_versions


def write_outside_run(run_dir: str, settings: Mapping[str, Any], rows: List[Dict[str, float]],
                      columns: Sequence[str]) -> Dict[str, float]:
  """Writes the three files; returns the last row without its round."""
  os.makedirs(run_dir, exist_ok=True)
  write_text(os.path.join(run_dir, "config.json"), json.dumps(dict(settings), indent=2) + "\n")
  write_text(os.path.join(run_dir, "versions.json"),
             json.dumps(environment_versions(), indent=2) + "\n")
  stream = io.StringIO()
  writer = csv.DictWriter(stream, fieldnames=list(columns), lineterminator="\n")
  writer.writeheader()
  writer.writerows(rows)
  write_text(os.path.join(run_dir, "metrics.csv"), stream.getvalue())
  return {key: float(value) for key, value in rows[-1].items()
          if key != "round" and value is not None}
