"""Where a run's metrics go: TFF program release managers for a CSV file and TensorBoard.

The CSV gets each round at once; its release manager drops the rows from that round
on first, so a resumed run rewrites whatever came after its checkpoint. A TensorBoard
event file cannot forget a step, so TensorBoard gets rounds only once a checkpoint
covers them (`commit`): a run killed and resumed shows every round there exactly once.
"""

from __future__ import annotations

import os
from typing import Dict, List, Tuple

from tff_course.runtime.coroutines import run_coroutine

METRICS_FILE = "metrics.csv"
TENSORBOARD_DIR = "tensorboard"


class MetricReleases:
  """Releases a run's per-round metrics to metrics.csv and TensorBoard."""

  def __init__(self, run_dir: str):
    from tff_course.runtime.tff_module import tff

    self._csv = tff.program.CSVFileReleaseManager(os.path.join(run_dir, METRICS_FILE),
                                                  key_fieldname="round")
    self._tensorboard = tff.program.TensorBoardReleaseManager(
        os.path.join(run_dir, TENSORBOARD_DIR))
    self._uncommitted: List[Tuple[Dict[str, float], int]] = []

  def release(self, metrics: Dict[str, float], round_num: int) -> None:
    """Writes the round to the CSV now and holds it for TensorBoard until `commit`."""
    run_coroutine(self._csv.release(metrics, key=round_num))
    self._uncommitted.append((metrics, round_num))

  def commit(self) -> None:
    """Call after a checkpoint: the rounds released since the last one go to TensorBoard."""
    async def release():
      for metrics, round_num in self._uncommitted:
        await self._tensorboard.release(metrics, key=round_num)
    run_coroutine(release())
    self._uncommitted.clear()
