"""Blocking coroutines of TFF's remote executor run in threads, side by side."""

import asyncio
import threading

import tensorflow as tf

from tff_course.runtime.concurrent_remote import _in_thread


async def _blocking(barrier: threading.Barrier, value):
  barrier.wait()
  return value


async def _failing():
  raise ValueError("worker said no")


class InThreadTest(tf.test.TestCase):

  def test_two_blocking_calls_wait_for_each_other_without_deadlock(self):
    barrier = threading.Barrier(2, timeout=10)

    async def both():
      return await asyncio.gather(_in_thread(_blocking(barrier, 1)),
                                  _in_thread(_blocking(barrier, 2)))

    self.assertEqual(asyncio.run(both()), [1, 2])

  def test_an_error_reaches_the_caller(self):
    with self.assertRaisesRegex(ValueError, "worker said no"):
      asyncio.run(_in_thread(_failing()))

  def test_the_threads_do_not_hold_up_exit(self):
    threads = []

    async def record():
      threads.append(threading.current_thread())

    asyncio.run(_in_thread(record()))
    self.assertTrue(threads[0].daemon)
    self.assertIsNot(threads[0], threading.main_thread())


if __name__ == "__main__":
  tf.test.main()
