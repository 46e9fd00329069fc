"""A client's examples held as tensors and iterated in batches inside one TF graph.

`tf.data` pipelines cost TFF clients dearly: every client call builds a new dataset and
instantiates the training function that `Dataset.reduce` runs, which on this machine
costs tens of milliseconds per client, more than the training of a 60-example client
itself. `TensorBatches` offers the one method the client steps use, `reduce`, as a
`tf.while_loop` over index slices of tensors already in memory: the training step is
part of the client's graph and instantiated once.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, List, Tuple

import tensorflow as tf

from tff_course.algorithms.local_work import LocalWork


@dataclasses.dataclass(frozen=True)
class TensorBatches:
  """The local work's stream of (inputs, labels) batches over a client's tensors.

  As the tf.data stream it replaces: each pass over the data is a fresh permutation
  (drawn from `seed` and the pass number, so the same seed gives the same batches), cut
  into batches of `local_work.batch_size` (all examples when None) with a smaller last
  batch; E passes, or the first J batches cycling through passes.
  """

  inputs: Any
  labels: Any
  seed: Any
  local_work: LocalWork

  def _sizes(self):
    count = tf.shape(self.labels)[0]
    size = tf.maximum(count, 1) if self.local_work.batch_size is None else tf.constant(
        self.local_work.batch_size)
    per_pass = (count + size - 1) // size
    steps = (tf.constant(self.local_work.steps) if self.local_work.steps is not None
             else self.local_work.epochs * per_pass)
    return count, size, per_pass, tf.where(count > 0, steps, 0)

  def batch(self, step) -> Tuple[Any, Any]:
    """The `step`-th batch (0-based) of the stream."""
    count, size, per_pass, _ = self._sizes()
    order = tf.random.experimental.stateless_shuffle(
        tf.range(count), seed=tf.stack([tf.cast(self.seed, tf.int64),
                                        tf.cast(step // per_pass, tf.int64)]))
    start = (step % per_pass) * size
    chosen = order[start:tf.minimum(start + size, count)]
    return tf.gather(self.inputs, chosen), tf.gather(self.labels, chosen)

  def num_batches(self):
    """How many batches the stream has."""
    return self._sizes()[3]

  def reduce(self, initial_state, reduce_func: Callable):
    """`reduce_func(state, batch)` folded over the stream, as `tf.data.Dataset.reduce`."""
    steps = self.num_batches()

    def body(step, state):
      return step + 1, reduce_func(state, self.batch(step))

    _, state = tf.while_loop(lambda step, _: step < steps, body,
                             (tf.constant(0), initial_state))
    return state

  def as_list(self) -> List[Tuple[Any, Any]]:
    """The batches, eagerly."""
    return [self.batch(tf.constant(step)) for step in range(int(self.num_batches()))]
