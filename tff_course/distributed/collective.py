"""The mean over the workers of a `tf.distribute.MultiWorkerMirroredStrategy` cluster (one
replica per worker process, a ring all-reduce over gRPC), for Local SGD's sync."""

from __future__ import annotations

from typing import List, Sequence, Tuple

import numpy as np


def multi_worker_strategy(timeout_seconds: float = 300.0):
  """The strategy of the cluster in TF_CONFIG, its collectives given up after
  `timeout_seconds` (a worker that died does not hang the others for ever)."""
  import tensorflow as tf

  options = tf.distribute.experimental.CommunicationOptions(
      implementation=tf.distribute.experimental.CommunicationImplementation.RING,
      timeout_seconds=timeout_seconds)
  return tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)


class CollectiveMean:
  """Averages this worker's weights (and its loss) with every other worker's.

  Holds one staging variable per weight: the all-reduce reads them inside `strategy.run`.
  """

  def __init__(self, strategy, like: Sequence[np.ndarray]):
    import tensorflow as tf

    self._strategy = strategy
    self._staging = [tf.Variable(np.zeros_like(value), trainable=False) for value in like]
    self._loss = tf.Variable(0.0, trainable=False)
    self._reduce = tf.function(self._all_reduce)

  def _all_reduce(self):
    import tensorflow as tf

    def replica_mean():
      context = tf.distribute.get_replica_context()
      return context.all_reduce(tf.distribute.ReduceOp.MEAN,
                                [tf.identity(v) for v in self._staging + [self._loss]])

    return self._strategy.run(replica_mean)

  def __call__(self, local: Sequence[Sequence[np.ndarray]],
               loss: float) -> Tuple[List[np.ndarray], float]:
    (weights,) = local
    for variable, value in zip(self._staging, weights):
      variable.assign(value)
    self._loss.assign(loss)
    reduced = [self._strategy.experimental_local_results(value)[0].numpy()
               for value in self._reduce()]
    return reduced[:-1], float(reduced[-1])
