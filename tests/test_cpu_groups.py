"""Local TFF workers get disjoint shares of the CPUs."""

import os

import portpicker
import tensorflow as tf

from tff_course.runtime.cpu_groups import cpu_groups


class CpuGroupsTest(tf.test.TestCase):

  def test_disjoint_contiguous_and_as_equal_as_they_can_be(self):
    self.assertEqual(cpu_groups(4, range(16)),
                     [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11], [12, 13, 14, 15]])
    self.assertEqual(cpu_groups(2, [3, 1, 2, 0, 4]), [[0, 1, 2], [3, 4]])
    self.assertEqual(cpu_groups(3, [5, 7, 9]), [[5], [7], [9]])

  def test_one_worker_or_more_workers_than_cpus_are_not_pinned(self):
    self.assertEqual(cpu_groups(1, range(8)), [None])
    self.assertEqual(cpu_groups(4, [0, 1]), [None] * 4)

  def test_a_started_worker_is_held_to_its_group_and_the_driver_is_not(self):
    from tff_course.runtime.worker import WorkerProcess

    own = os.sched_getaffinity(0)
    cpus = sorted(own)[-1:]
    worker = WorkerProcess(portpicker.pick_unused_port(), cpus=cpus)
    self.addCleanup(worker.stop)
    self.assertEqual(os.sched_getaffinity(worker.pid), set(cpus))
    self.assertEqual(os.sched_getaffinity(0), own)
    unpinned = WorkerProcess(portpicker.pick_unused_port())
    self.addCleanup(unpinned.stop)
    self.assertEqual(os.sched_getaffinity(unpinned.pid), own)

if __name__ == "__main__":
  tf.test.main()
