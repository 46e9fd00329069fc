"""Where a run's metrics go: TFF program release managers for a CSV file and TensorBoard."""

from __future__ import annotations

import asyncio
import os
from typing import Dict, List

METRICS_FILE = "metrics.csv"


def make_releases(run_dir: str) -> List:
  """A CSV release manager (metrics.csv, keyed by round) and a TensorBoard one."""
  from tff_course.runtime.tff_module import tff

  return [tff.program.CSVFileReleaseManager(os.path.join(run_dir, METRICS_FILE),
                                            key_fieldname="round"),
          tff.program.TensorBoardReleaseManager(os.path.join(run_dir, "tensorboard"))]


def release_all(releases, metrics: Dict[str, float], round_num: int) -> None:
  """Releases one round's metrics to every manager (the CSV drops rows >= round_num
  first, so a resumed run rewrites what came after its checkpoint)."""
  async def release():
    await asyncio.gather(*(r.release(metrics, key=round_num) for r in releases))
  asyncio.run(release())
