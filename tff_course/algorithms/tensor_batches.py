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

  def _pass_order(self, pass_index, count):
    """The permutation of the examples that pass `pass_index` visits them in."""
    return tf.random.experimental.stateless_shuffle(
        tf.range(count), seed=tf.stack([tf.cast(self.seed, tf.int64),
                                        tf.cast(pass_index, tf.int64)]))

  def _take(self, order, step, sizes):
    """Batch `step` of the stream, cut from its pass's `order`."""
    count, size, per_pass, _ = sizes
    start = (step % per_pass) * size
    chosen = order[start:tf.minimum(start + size, count)]
    return tf.gather(self.inputs, chosen), tf.gather(self.labels, chosen)

  def batch(self, step) -> Tuple[Any, Any]:
    """The `step`-th batch (0-based) of the stream."""
    sizes = self._sizes()
    return self._take(self._pass_order(step // sizes[2], sizes[0]), step, sizes)

  def num_batches(self):
    """How many batches the stream has."""
    return self._sizes()[3]

  def reduce(self, initial_state, reduce_func: Callable):
    """`reduce_func(state, batch)` folded over the stream, as `tf.data.Dataset.reduce`;
    each pass's permutation is drawn once, before its first batch."""
    sizes = self._sizes()
    count, _, per_pass, steps = sizes

    def body(step, order, state):
      state = reduce_func(state, self._take(order, step, sizes))
      step += 1
      order = tf.cond(tf.equal(step % per_pass, 0),
                      lambda: tf.ensure_shape(self._pass_order(step // per_pass, count),
                                              order.shape),
                      lambda: order)
      return step, order, state

    _, _, state = tf.while_loop(lambda step, *_: step < steps, body,
                                (tf.constant(0), self._pass_order(0, count), initial_state))
    return state

  def as_list(self) -> List[Tuple[Any, Any]]:
    """The batches, eagerly."""
    return [self.batch(tf.constant(step)) for step in range(int(self.num_batches()))]


def batches_fn(read_fn: Callable, local_work: LocalWork) -> Callable:
  """client input -> the client's `TensorBatches`, over the (inputs, labels, shuffle
  seed) that `read_fn` (e.g. `ClientRecords.read_fn()`) gives for that input."""

  def client_batches(client_input):
    inputs, labels, seed = read_fn(client_input)
    return TensorBatches(inputs, labels, seed, local_work)

  return client_batches
