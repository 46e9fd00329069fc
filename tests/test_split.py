"""Split: taking the first rows, rows by number, and a seeded sample."""

import numpy as np
import tensorflow as tf

from tff_course.data.dataset import Split


def _split(rows: int) -> Split:
  return Split(x=np.arange(rows * 2).reshape(rows, 2), y=np.arange(rows, dtype=np.int64),
               client_ids=np.array([f"c{i % 3}" for i in range(rows)], dtype=object))


class SplitTest(tf.test.TestCase):

  def test_take_keeps_the_first_rows_and_their_clients(self):
    taken = _split(10).take(4)
    self.assertAllEqual(taken.y, [0, 1, 2, 3])
    self.assertAllEqual(taken.client_ids, ["c0", "c1", "c2", "c0"])
    whole = _split(10)
    self.assertIs(whole.take(None), whole)
    self.assertIs(whole.take(10), whole)

  def test_sample_draws_distinct_rows_in_order_the_same_for_the_same_seed(self):
    whole = _split(100)
    sample = whole.sample(30, seed=5)
    self.assertLen(sample, 30)
    self.assertLen(set(sample.y.tolist()), 30)
    self.assertAllEqual(sample.y, np.sort(sample.y))
    self.assertAllEqual(sample.x[:, 0], 2 * sample.y)
    self.assertAllEqual(sample.client_ids, [f"c{i % 3}" for i in sample.y])
    self.assertAllEqual(whole.sample(30, seed=5).y, sample.y)
    self.assertNotAllEqual(whole.sample(30, seed=6).y, sample.y)

  def test_sample_of_at_least_the_whole_split_is_the_split(self):
    whole = _split(10)
    self.assertIs(whole.sample(None, seed=0), whole)
    self.assertIs(whole.sample(10, seed=0), whole)
