"""The controller's process group: role-prefixed output, a failed or killed process named
in one line, and no process left behind on any exit path."""

import io
import os
import signal
import sys

import tensorflow as tf

from tests.processes import wait_gone

from tff_course.distributed.addresses import free_ports
from tff_course.distributed.process_group import ProcessFailed, ProcessGroup, describe_status

SLEEPER = [sys.executable, "-c", "import time; print('up', flush=True); time.sleep(60)"]


class ProcessGroupTest(tf.test.TestCase):

  def test_output_is_prefixed_and_signals_reach_the_callback(self):
    stream, seen = io.StringIO(), []
    script = "print('hello', flush=True); print('@sync 1 2 0.5', flush=True)"
    with ProcessGroup({"worker 0": [sys.executable, "-c", script]}, stream=stream,
                      on_line=lambda role, line: seen.append((role, line))) as group:
      group.wait(timeout=30)
    self.assertEqual(stream.getvalue(), "[worker 0] hello\n")
    self.assertEqual(seen, [("worker 0", "@sync 1 2 0.5")])

  def test_a_killed_worker_stops_the_others_with_one_line(self):
    group = ProcessGroup({"worker 0": SLEEPER, "worker 1": SLEEPER}, stream=io.StringIO())
    pids = [process.pid for process in group.processes.values()]
    os.kill(pids[1], signal.SIGKILL)
    with self.assertRaisesRegex(ProcessFailed, r"^worker 1 was killed by SIGKILL; stopped the "
                                               r"other processes$"):
      group.wait(timeout=30)
    self.assertTrue(wait_gone(*pids, seconds=0))

  def test_a_killed_process_is_named_before_one_that_failed_after_it(self):
    commands = {"coordinator": [sys.executable, "-c", "raise SystemExit(1)"],
                "worker 0": SLEEPER}
    group = ProcessGroup(commands, stream=io.StringIO())
    group.processes["coordinator"].wait()
    os.kill(group.processes["worker 0"].pid, signal.SIGKILL)
    group.processes["worker 0"].wait()
    with self.assertRaisesRegex(ProcessFailed, r"^worker 0 was killed by SIGKILL; stopped "):
      group.wait(timeout=30)

  def test_a_failing_worker_is_named(self):
    commands = {"worker 0": SLEEPER, "worker 1": [sys.executable, "-c", "raise SystemExit(3)"]}
    with self.assertRaisesRegex(ProcessFailed, r"^worker 1 exited with status 3"):
      with ProcessGroup(commands, stream=io.StringIO()) as group:
        group.wait(timeout=30)

  def test_an_exception_in_the_controller_stops_every_process(self):
    pids = []
    with self.assertRaises(KeyboardInterrupt):
      with ProcessGroup({"worker 0": SLEEPER, "worker 1": SLEEPER},
                        stream=io.StringIO()) as group:
        pids = [process.pid for process in group.processes.values()]
        raise KeyboardInterrupt
    self.assertTrue(wait_gone(*pids))

  def test_a_timeout_stops_them(self):
    with ProcessGroup({"worker 0": SLEEPER}, stream=io.StringIO()) as group:
      with self.assertRaisesRegex(ProcessFailed, r"did not finish within 0.5 s"):
        group.wait(timeout=0.5)
      self.assertIsNotNone(group.processes["worker 0"].poll())

  def test_helpers(self):
    ports = free_ports(3)
    self.assertLen(set(ports), 3)
    self.assertEqual(describe_status(-9), "was killed by SIGKILL")
    self.assertEqual(describe_status(2), "exited with status 2")



DRIVER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "programs", "group_driver.py")


class ControllerSignalsTest(tf.test.TestCase):

  def test_no_process_outlives_a_signalled_controller(self):
    import subprocess

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGKILL):
      with self.subTest(signal=signum.name):
        driver = subprocess.Popen(  # pylint: disable=consider-using-with
            [sys.executable, DRIVER], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            text=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        pids = [int(pid) for pid in driver.stdout.readline().split()[1:]]
        self.assertLen(pids, 2)
        driver.send_signal(signum)
        driver.wait(timeout=60)
        driver.stdout.close()
        self.assertTrue(wait_gone(*pids),
                        f"a worker outlived a controller ended by {signum.name}")


if __name__ == "__main__":
  tf.test.main()
