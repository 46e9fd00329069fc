"""TensorBatches: the tf.data stream's batches, epochs and steps, folded in one graph."""

import numpy as np
import tensorflow as tf

from tff_course.algorithms.local_work import LocalWork
from tff_course.algorithms.tensor_batches import TensorBatches


def batches(count, local_work, seed=3):
  x = np.arange(count, dtype=np.float32).reshape(count, 1) * 10
  y = np.arange(count, dtype=np.int32)
  return TensorBatches(tf.constant(x), tf.constant(y), tf.constant(seed, tf.int64), local_work)


class TensorBatchesTest(tf.test.TestCase):

  def test_every_pass_is_a_permutation_of_the_examples(self):
    stream = batches(23, LocalWork(epochs=3, batch_size=5)).as_list()
    self.assertEqual([len(b[1]) for b in stream], [5, 5, 5, 5, 3] * 3)
    passes = [np.concatenate([b[1].numpy() for b in stream[i * 5:(i + 1) * 5]])
              for i in range(3)]
    for labels in passes:
      self.assertAllEqual(np.sort(labels), np.arange(23))
    self.assertNotAllEqual(passes[0], passes[1])
    for inputs, labels in stream:
      self.assertAllEqual(inputs.numpy().ravel(), labels.numpy() * 10)

  def test_steps_cycle_through_passes_and_full_batch(self):
    stream = batches(7, LocalWork(epochs=None, steps=5, batch_size=3)).as_list()
    self.assertEqual([len(b[1]) for b in stream], [3, 3, 1, 3, 3])
    self.assertEqual([len(b[1]) for b in batches(7, LocalWork(batch_size=None)).as_list()], [7])
    self.assertEqual(batches(0, LocalWork(batch_size=None)).as_list(), [])

  def test_same_seed_same_batches(self):
    def labels(seed):
      return [b[1].numpy() for b in batches(12, LocalWork(batch_size=4), seed).as_list()]
    for a, b in zip(labels(5), labels(5)):
      self.assertAllEqual(a, b)
    self.assertNotAllEqual(np.concatenate(labels(5)), np.concatenate(labels(6)))

  def test_reduce_in_a_graph_folds_the_same_batches(self):
    stream = batches(11, LocalWork(epochs=2, batch_size=4))

    @tf.function
    def fold():
      return stream.reduce((tf.constant(0), tf.constant(0)),
                           lambda state, batch: (state[0] + 1,
                                                 state[1] + (state[0] + 1) *
                                                 tf.reduce_sum(batch[1])))

    expected = sum((step + 1) * int(b[1].numpy().sum())
                   for step, b in enumerate(stream.as_list()))
    steps, checksum = fold()
    self.assertEqual(int(steps), 6)
    self.assertEqual(int(checksum), expected)


if __name__ == "__main__":
  tf.test.main()
