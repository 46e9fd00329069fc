"""Asynchronous SGD with parameter servers (`tf.distribute.experimental.ParameterServerStrategy`):
a coordinator dispatches one gradient step at a time to whichever of W workers is free;
the weights live on P parameter servers (`async_launch` starts the processes).

Step t always trains on the same batch of B examples (`worker_batch`), so asynchronous and
synchronous runs differ only in the order and staleness of their updates. A version counter
on the servers, read before a step reads the weights and incremented after its update, gives
every applied gradient its staleness: the updates other workers applied in between.
Synchronous mode dispatches a step only once the previous one is applied (staleness 0): it
is plain SGD on the same batches (`reference_sgd`), which the tests check to 1e-5.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from tff_course.distributed.async_snapshots import Snapshot
from tff_course.distributed.worker_batches import worker_batch
from tff_course.ranges import check_integer, check_range


IN_FLIGHT_PER_WORKER = 2


@dataclasses.dataclass(frozen=True)
class AsyncSettings:
  """W workers, P parameter servers, `steps` SGD steps of B examples at a rate; the weights
  read off the servers every `snapshot_every` dispatched steps (0: never)."""

  workers: int = 2
  parameter_servers: int = 1
  steps: int = 100
  batch_size: int = 64
  learning_rate: float = 0.05
  seed: int = 0
  synchronous: bool = False
  snapshot_every: int = 0

  def __post_init__(self):
    check_integer("workers", self.workers, 1)
    check_integer("parameter_servers", self.parameter_servers, 1)
    check_integer("steps", self.steps, 1)
    check_integer("batch_size", self.batch_size, 1)
    check_integer("snapshot_every", self.snapshot_every, 0)
    check_range("learning_rate", self.learning_rate, 0.0, float("inf"), lower_open=True,
                upper_open=True)

  def batches(self, num_examples: int) -> List[np.ndarray]:
    """The example indices of every step, in step order."""
    return [worker_batch(num_examples, 1, self.batch_size, self.seed, step, 0)
            for step in range(self.steps)]


@dataclasses.dataclass(frozen=True)
class AsyncStep:
  """One applied gradient: its step, its batch's loss, its place among the applied updates
  (1 for the first), how many updates of other workers landed between its read of the
  weights and its own update, and when the coordinator saw it done (seconds from the first
  dispatch)."""

  step: int
  loss: float
  version: int
  staleness: int
  seconds: float


def cluster_spec(addresses: Sequence[str], workers: int) -> Dict[str, List[str]]:
  """Job -> addresses: the first for the coordinator ("chief"), then `workers` workers, then
  the parameter servers ("ps")."""
  return {"chief": list(addresses[:1]), "worker": list(addresses[1:1 + workers]),
          "ps": list(addresses[1 + workers:])}


def staleness_histogram(records: Sequence[AsyncStep]) -> Dict[int, int]:
  """Staleness -> how many applied gradients had it."""
  values, counts = np.unique([r.staleness for r in records], return_counts=True)
  return {int(v): int(c) for v, c in zip(values, counts)}


def train_on_cluster(build_model: Callable[[], object], x: np.ndarray, y: np.ndarray,
                     settings: AsyncSettings, spec: Dict[str, List[str]],
                     on_step: Optional[Callable[[AsyncStep], None]] = None,
                     on_snapshot: Optional[Callable[[Snapshot], None]] = None
                     ) -> Tuple[List[np.ndarray], List[AsyncStep]]:
  """Coordinates training on the cluster `spec` (its workers and parameter servers serve
  already, or soon); (the final trainable weights, every step's record in step order).
  At most IN_FLIGHT_PER_WORKER steps a worker are dispatched and not yet collected; every
  `settings.snapshot_every` dispatched steps the weights are read and given to
  `on_snapshot`. Connects this process to the cluster as its coordinator: once per
  process, and TF's coordinator may block the process's exit once the servers are gone
  (`async_main` ends with os._exit)."""
  import tensorflow as tf

  from tff_course.tf_log import drop_retracing_warnings

  drop_retracing_warnings()
  tf.keras.utils.set_random_seed(settings.seed)
  initial = [v.numpy() for v in build_model().trainable_variables]
  resolver = tf.distribute.cluster_resolver.SimpleClusterResolver(
      tf.train.ClusterSpec(spec), task_type="chief", task_id=0, rpc_layer="grpc")
  strategy = tf.distribute.experimental.ParameterServerStrategy(resolver)
  coordinator = tf.distribute.experimental.coordinator.ClusterCoordinator(strategy)
  with strategy.scope():
    model = build_model()
    version = tf.Variable(0, dtype=tf.int64, trainable=False, name="version")
  with tf.device(version.device):
    counting = tf.CriticalSection(name="version_count")
  for variable, value in zip(model.trainable_variables, initial):
    variable.assign(value)
  step = _step_function(strategy, model, version, counting, settings.learning_rate)
  batches = settings.batches(len(x))
  started = time.monotonic()
  pending, records = [], []

  def collect(index):
    loss, applied, staleness = pending[index].fetch()
    records.append(AsyncStep(index, float(loss), int(applied), int(staleness),
                             time.monotonic() - started))
    if on_step is not None:
      on_step(records[-1])

  window = 1 if settings.synchronous else IN_FLIGHT_PER_WORKER * settings.workers
  for index, batch in enumerate(batches):
    while index - len(records) >= window:
      collect(len(records))
    if on_snapshot is not None and settings.snapshot_every and index \
        and index % settings.snapshot_every == 0:
      on_snapshot(Snapshot(int(version.numpy()), time.monotonic() - started,
                           [v.numpy() for v in model.trainable_variables]))
    pending.append(coordinator.schedule(
        step, args=(tf.constant(x[batch]), tf.constant(y[batch]))))
  for index in range(len(records), len(batches)):
    collect(index)
  coordinator.join()
  return [v.numpy() for v in model.trainable_variables], records


def _step_function(strategy, model, version, counting, learning_rate: float):
  """One SGD step on the servers' weights: (the batch's loss, the update's version, its
  staleness). The version is incremented and read inside the critical section `counting`
  (on the version's server): otherwise two workers' increments can land before either
  reads, and both read the same version."""
  import tensorflow as tf

  loss_fn = tf.keras.losses.SparseCategoricalCrossentropy(
      from_logits=True, reduction=tf.keras.losses.Reduction.NONE)

  def replica_step(inputs, labels):
    read = version.read_value()
    with tf.control_dependencies([read]):
      with tf.GradientTape() as tape:
        loss = tf.reduce_mean(loss_fn(labels, model(inputs, training=True)))
    gradients = tape.gradient(loss, model.trainable_variables)
    updates = [variable.assign_sub(learning_rate * gradient)
               for variable, gradient in zip(model.trainable_variables, gradients)]
    with tf.control_dependencies(updates):
      applied = counting.execute(lambda: version.assign_add(1).read_value(),
                                 exclusive_resource_access=False)
    return loss, applied, applied - read - 1

  @tf.function
  def step(inputs, labels):
    return strategy.run(replica_step, args=(inputs, labels))

  return step
