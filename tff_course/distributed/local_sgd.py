"""The sync loop of Local SGD and SlowMo, apart from how the average travels: K replicas in
one process (`simulate`, exact), or one replica per worker process with a collective
all-reduce (`tff_course.distributed.collective`). Both run `run_syncs`, so they take the
same steps on the same batches."""

from __future__ import annotations

import dataclasses
import time
from typing import Callable, List, Optional, Sequence, Tuple

import numpy as np

from tff_course.distributed.slowmo import SlowMoSettings, mean_of_workers, outer_step
from tff_course.distributed.worker_batches import worker_batch

Weights = List[np.ndarray]
Average = Callable[[Sequence[Weights], float], Tuple[Weights, float]]


@dataclasses.dataclass(frozen=True)
class SyncRecord:
  """One sync: the workers' mean training loss over its local steps, the seconds spent
  computing and communicating, the bytes each worker's weights put on the all-reduce
  (a ring all-reduce sends 2 (K - 1) / K of it from each worker), and the averaged
  model's test accuracy where it was measured."""

  sync: int
  loss: float
  compute_seconds: float
  communication_seconds: float
  bytes_reduced: int
  test_accuracy: Optional[float] = None


class Replica:
  """One worker's copy of the model and its inner SGD (momentum stays local)."""

  def __init__(self, build_model: Callable[[], object], settings: SlowMoSettings):
    import tensorflow as tf

    tf.keras.utils.set_random_seed(settings.seed)
    self.model = build_model()
    self.optimizer = tf.keras.optimizers.SGD(settings.inner_lr,
                                             momentum=settings.inner_momentum)
    self.optimizer.build(self.model.trainable_variables)
    self._loss = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    self._train_step = tf.function(self._step, reduce_retracing=True)

  def _step(self, x, y):
    import tensorflow as tf

    with tf.GradientTape() as tape:
      loss = self._loss(y, self.model(x, training=True))
    variables = self.model.trainable_variables
    self.optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
    return loss

  def train(self, x: np.ndarray, y: np.ndarray) -> float:
    """One SGD step on the batch; its loss before the step."""
    return float(self._train_step(x, y))

  def weights(self) -> Weights:
    return [variable.numpy() for variable in self.model.trainable_variables]

  def set_weights(self, weights: Sequence[np.ndarray]) -> None:
    for variable, value in zip(self.model.trainable_variables, weights):
      variable.assign(value)


def run_syncs(replicas: Sequence[Tuple[int, Replica]], settings: SlowMoSettings,
              x: np.ndarray, y: np.ndarray, average: Average,
              on_sync: Optional[Callable[[SyncRecord], None]] = None) -> List[SyncRecord]:
  """Runs every sync of `settings` on `replicas` ((worker index, replica) pairs held by this
  process); `average` turns their weights and mean loss into every worker's mean."""
  records, buffers = [], None
  for sync in range(settings.syncs):
    start = replicas[0][1].weights()
    began = time.perf_counter()
    losses = [loss for worker, replica in replicas
              for loss in _local_steps(replica, worker, sync, settings, x, y)]
    computed = time.perf_counter()
    local = [replica.weights() for _, replica in replicas]
    averaged, loss = average(local, float(np.mean(losses)))
    communicated = time.perf_counter()
    new, buffers = outer_step(start, averaged, buffers, settings)
    for _, replica in replicas:
      replica.set_weights(new)
    record = SyncRecord(sync + 1, loss, computed - began, communicated - computed,
                        int(sum(value.nbytes for value in local[0])))
    records.append(record)
    if on_sync is not None:
      on_sync(record)
  return records


def _local_steps(replica: Replica, worker: int, sync: int, settings: SlowMoSettings,
                 x: np.ndarray, y: np.ndarray) -> List[float]:
  """The H steps of `worker` in `sync`, on its batches; their losses."""
  losses = []
  for step in range(sync * settings.local_steps, (sync + 1) * settings.local_steps):
    batch = worker_batch(len(x), settings.workers, settings.batch_size, settings.seed, step,
                         worker)
    losses.append(replica.train(x[batch], y[batch]))
  return losses


def simulate(build_model: Callable[[], object], settings: SlowMoSettings, x: np.ndarray,
             y: np.ndarray, on_sync=None) -> Tuple[Weights, List[SyncRecord]]:
  """All K workers in this process, averaged exactly; (final weights, records)."""
  replicas = [(worker, Replica(build_model, settings)) for worker in range(settings.workers)]

  def average(local: Sequence[Weights], loss: float):
    return mean_of_workers(local), loss

  records = run_syncs(replicas, settings, x, y, average, on_sync)
  return replicas[0][1].weights(), records
