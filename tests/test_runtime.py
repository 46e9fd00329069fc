"""No TFF worker process outlives the program, whatever way the program ends."""

import os
import signal
import subprocess
import sys
import time

import tensorflow as tf

from tests.processes import alive, wait_gone

DRIVER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "programs", "tff_driver.py")
TIMEOUT = 120
QUIET_ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}


def worker_pids(output: str) -> list:
  lines = [line for line in output.splitlines() if line.startswith("worker ")]
  assert lines, f"the driver printed no worker line:\n{output}"
  return [int(pid) for pid in lines[0].split()[1:]]


def worker_pid(output: str) -> int:
  return worker_pids(output)[0]


class WorkerLifetimeTest(tf.test.TestCase):

  def run_driver(self, mode, workers=1):
    return subprocess.run([sys.executable, DRIVER, mode, str(workers)], capture_output=True,
                          text=True, timeout=TIMEOUT, check=False, env=QUIET_ENV)

  def test_normal_exit(self):
    result = self.run_driver("exit")
    self.assertEqual(result.returncode, 0, result.stderr)
    self.assertIn("result 9", result.stdout)
    self.assertTrue(wait_gone(worker_pid(result.stdout)))
    self.assertNotIn("AttributeError", result.stderr)

  def test_shutdown_then_a_fresh_worker(self):
    result = self.run_driver("restart")
    self.assertEqual(result.returncode, 0, result.stderr)
    again = [l for l in result.stdout.splitlines() if l.startswith("again ")][0].split()
    self.assertEqual(again[1], "11")
    first, second = int(again[3]), int(again[5])
    self.assertNotEqual(first, second)
    self.assertFalse(alive(first))
    self.assertTrue(wait_gone(second))

  def test_worker_limits_malloc_arenas_unless_the_user_chose(self):
    from tff_course.runtime.worker import WorkerProcess

    def arenas(environment):
      old = os.environ.pop("MALLOC_ARENA_MAX", None)
      os.environ.update(environment)
      worker = WorkerProcess(0)
      try:
        with open(f"/proc/{worker.pid}/environ", "rb") as stream:
          variables = dict(item.split(b"=", 1) for item in stream.read().split(b"\0") if item)
        return variables.get(b"MALLOC_ARENA_MAX")
      finally:
        worker.stop()
        os.environ.pop("MALLOC_ARENA_MAX", None)
        if old is not None:
          os.environ["MALLOC_ARENA_MAX"] = old

    self.assertEqual(arenas({}), b"2")
    self.assertEqual(arenas({"MALLOC_ARENA_MAX": "4"}), b"4")

  def test_exception(self):
    result = self.run_driver("raise", workers=3)
    self.assertEqual(result.returncode, 1)
    self.assertIn("the driver failed on purpose", result.stderr)
    pids = worker_pids(result.stdout)
    self.assertLen(set(pids), 3)
    for pid in pids:
      self.assertTrue(wait_gone(pid), f"worker {pid} of 3 outlived a driver that raised")

  def test_signals(self):
    """One worker, and 3 (TFF's mergeable context)."""
    for signum, workers in ((signal.SIGINT, 1), (signal.SIGTERM, 3), (signal.SIGHUP, 1),
                            (signal.SIGKILL, 3)):
      with self.subTest(signal=signum.name, workers=workers):
        driver = subprocess.Popen(  # pylint: disable=consider-using-with
            [sys.executable, DRIVER, "sleep", str(workers)], stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, text=True,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        pids = worker_pids(driver.stdout.readline())
        self.assertLen(set(pids), workers)
        self.assertIn("result 9", driver.stdout.readline())
        driver.send_signal(signum)
        driver.wait(timeout=TIMEOUT)
        driver.stdout.close()
        for pid in pids:
          self.assertTrue(wait_gone(pid), f"worker {pid} of {workers} outlived a driver "
                                          f"ended by {signum.name}")

  def test_import_alone_prints_nothing_at_exit(self):
    result = self.run_driver("import-only")
    self.assertEqual(result.returncode, 0, result.stderr)
    self.assertNotIn("Exception ignored", result.stderr)
    self.assertNotIn("AttributeError", result.stderr)

  def test_pipeline_returns(self):
    start = time.monotonic()
    result = subprocess.run(f"'{sys.executable}' '{DRIVER}' exit | cat", shell=True,
                            capture_output=True, text=True, timeout=TIMEOUT, check=False)
    self.assertEqual(result.returncode, 0, result.stderr)
    self.assertIn("result 9", result.stdout)
    self.assertLess(time.monotonic() - start, TIMEOUT)


if __name__ == "__main__":
  tf.test.main()


class QuietLogTest(tf.test.TestCase):

  def test_internal_deprecation_notices_are_dropped_and_other_warnings_kept(self):
    import logging

    from tff_course.tf_log import DEPRECATION_FILTER

    logger = logging.getLogger("tff_course.tests.quiet")
    logger.addFilter(DEPRECATION_FILTER)
    with self.assertNoLogs(logger, logging.WARNING):
      logger.warning("From /x/batch_normalization.py:883: _colocate_with (from tensorflow."
                     "python.framework.ops) is deprecated and will be removed in a future "
                     "version.\nInstructions for updating:\nColocations handled automatically")
    with self.assertLogs(logger, logging.WARNING):
      logger.warning("round 3: the update of client 7 was NaN")
