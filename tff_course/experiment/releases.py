"""Where a run's metrics go: TFF program release managers for a CSV file and TensorBoard.

The CSV gets each round at once; its release manager drops the rows from that round
on first, so a resumed run rewrites whatever came after its checkpoint. A TensorBoard
event file cannot forget a step, so TensorBoard gets rounds only once a checkpoint
covers them (`commit`), and a resumed run first writes there whatever its checkpoint
covers that the event files lack (`recover`: a kill between the checkpoint and the
TensorBoard write): a run killed and resumed shows every round there exactly once.
"""

from __future__ import annotations

import math
import os
from typing import Dict, List, Set, Tuple

from tff_course.experiment.metrics_file import METRICS_FILE, read_metrics
from tff_course.runtime.coroutines import run_coroutine

TENSORBOARD_DIR = "tensorboard"


class MetricReleases:
  """Releases a run's per-round metrics to metrics.csv and TensorBoard."""

  def __init__(self, run_dir: str):
    from tff_course.runtime.tff_module import tff

    self._run_dir = run_dir
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

  def recover(self, checkpoint_round: int) -> None:
    """Call when resuming from `checkpoint_round`: writes to TensorBoard each metric of
    rounds 1..checkpoint_round that metrics.csv has and the event files lack."""
    if checkpoint_round < 1 or not os.path.isfile(os.path.join(self._run_dir, METRICS_FILE)):
      return
    present = tensorboard_points(os.path.join(self._run_dir, TENSORBOARD_DIR))
    columns = read_metrics(self._run_dir)
    for index, round_num in enumerate(columns.pop("round").astype(int)):
      if round_num > checkpoint_round:
        continue
      missing = {name: float(values[index]) for name, values in columns.items()
                 if math.isfinite(values[index]) and (name, round_num) not in present}
      if missing:
        self._uncommitted.append((missing, int(round_num)))
    self.commit()


def tensorboard_points(directory: str) -> Set[Tuple[str, int]]:
  """The (tag, step) pairs of the scalars in a TensorBoard directory's event files; a
  record cut short by a kill ends its file."""
  import tensorflow as tf
  from tensorflow.core.util import event_pb2

  points = set()
  for path in tf.io.gfile.glob(os.path.join(directory, "**", "events.*")) + \
      tf.io.gfile.glob(os.path.join(directory, "events.*")):
    try:
      for record in tf.data.TFRecordDataset(path):
        event = event_pb2.Event.FromString(record.numpy())
        points.update((value.tag, event.step) for value in event.summary.value)
    except tf.errors.DataLossError:
      pass
  return points
