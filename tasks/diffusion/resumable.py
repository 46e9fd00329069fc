"""Training that survives a kill: a step counter checkpointed with the weights and the
optimizer in a directory, and a loop that runs the steps between the restored count and
the total under a progress bar, checkpointing as it goes."""

from __future__ import annotations

import sys
from typing import Callable, List, Optional, Tuple

import numpy as np

RECENT = 50


class Checkpoints:
  """A step counter and `objects` (networks, optimizer) checkpointed in `directory`
  (None: nowhere); `restore` reads the directory as it is at that moment.

  Args:
    directory: where checkpoints are written and resumed from.
    prefix: the checkpoint files' name prefix.
    objects: the trackable objects saved beside the counter, by name.
  """

  def __init__(self, directory: Optional[str], prefix: str, **objects):
    import tensorflow as tf

    self.directory, self.prefix = directory, prefix
    self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
    self._checkpoint = tf.train.Checkpoint(step=self.step, **objects)
    self._manager = None

  def restore(self) -> int:
    """Loads the directory's latest checkpoint, if any; returns the steps done."""
    if self.directory:
      self._manager = self._directory_manager()
      if self._manager.latest_checkpoint:
        self._checkpoint.restore(self._manager.latest_checkpoint).expect_partial()
    return int(self.step.numpy())

  def save(self) -> None:
    """Writes a checkpoint numbered by the step count (the previous one is removed)."""
    if self.directory:
      self._manager = self._manager or self._directory_manager()
      self._manager.save(checkpoint_number=int(self.step.numpy()))

  def _directory_manager(self):
    import tensorflow as tf

    return tf.train.CheckpointManager(self._checkpoint, self.directory, max_to_keep=1,
                                      checkpoint_name=self.prefix)


def run_steps(step: Callable[[int], float], checkpoints: Checkpoints, total_steps: int, *,
              checkpoint_every: int = 0, progress: bool = True, description: str = "training",
              metric: str = "loss",
              on_step: Optional[Callable[[int, float], None]] = None
              ) -> Tuple[int, List[float]]:
  """Restores `checkpoints`, then calls `step(k)` (which returns the step's loss) for
  each k from the steps done to `total_steps`; checkpoints every `checkpoint_every` steps
  (0: only at the end) and at the end when any step ran. The bar shows the mean of the
  last 50 losses as `metric`. Returns the steps done before, and the losses of the steps
  run."""
  from tqdm.auto import tqdm

  done = checkpoints.restore()
  losses = []
  with tqdm(total=total_steps, initial=done, desc=description, unit="step",
            disable=not progress, file=sys.stderr, dynamic_ncols=True) as bar:
    for index in range(done, total_steps):
      losses.append(step(index))
      if on_step is not None:
        on_step(index + 1, losses[-1])
      if checkpoint_every and (index + 1) % checkpoint_every == 0:
        checkpoints.save()
      bar.set_postfix({metric: f"{recent_mean(losses):.4f}"}, refresh=False)
      bar.update(1)
  if done < total_steps:
    checkpoints.save()
  return done, losses


def recent_mean(losses: List[float]) -> float:
  """The mean of the last 50 losses (nan when there are none)."""
  return float(np.mean(losses[-RECENT:])) if losses else float("nan")
