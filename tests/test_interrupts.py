"""Ctrl-C stops a command with exit 130 and one line at any moment; a closed output
pipe does not stop it."""

import _thread
import os
import signal
import subprocess
import sys
import threading
import time

import tensorflow as tf

from tests.cli_runner import run_main
from tff_course.cli.dispatch import dispatch
from tff_course.cli import interrupts
from tff_course.cli.interrupts import catch_interrupts, was_interrupted
from tff_course.cli.streams import tolerate_closed_output

ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
DEMO_ROUNDS = 40


class _DropsAnInterrupt:
  """Raises KeyboardInterrupt in `__del__`, where Python prints and drops it."""

  def __del__(self):
    raise KeyboardInterrupt


def _parser_running(handler):
  def build_parser():
    import argparse
    parser = argparse.ArgumentParser(prog="prog")
    parser.set_defaults(handler=handler)
    return parser
  return build_parser


def _demo(run_dir, **popen):
  return subprocess.Popen([sys.executable, "-m", "tff_course", "demo", "--out", run_dir],
                          env=ENV, **popen)


def _wait_for_library(process, name, timeout=120):
  """Waits until the process has mapped a shared library whose path contains `name`."""
  deadline = time.monotonic() + timeout
  while time.monotonic() < deadline and process.poll() is None:
    with open(f"/proc/{process.pid}/maps") as stream:
      if name in stream.read():
        return
    time.sleep(0.005)
  raise AssertionError(f"{name} was not loaded within {timeout} s")


def _rounds_written(run_dir):
  path = os.path.join(run_dir, "metrics.csv")
  if not os.path.exists(path):
    return 0
  with open(path, encoding="utf-8") as stream:
    return len(stream.readlines()) - 1


class DroppedInterruptTest(tf.test.TestCase):

  def test_an_interrupt_dropped_in_a_destructor_is_raised_again(self):
    with catch_interrupts():
      with self.assertRaises(KeyboardInterrupt):
        dropping = _DropsAnInterrupt()
        del dropping
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
          pass
      self.assertTrue(was_interrupted())
    self.assertFalse(was_interrupted())

  def test_a_redelivery_sent_as_the_block_ends_does_not_outlive_it(self):
    holding = threading.Event()

    def redeliver_while_the_block_ends():
      with interrupts._REDELIVERY_LOCK:
        holding.set()
        time.sleep(0.3)
        interrupts._STATE["redelivering"] = True
        _thread.interrupt_main()

    helper = threading.Thread(target=redeliver_while_the_block_ends)
    try:
      with catch_interrupts():
        helper.start()
        holding.wait()
      deadline = time.monotonic() + 1
      while time.monotonic() < deadline:
        pass
    except KeyboardInterrupt:
      self.fail("the redelivered interrupt reached the handler restored after the block")
    finally:
      helper.join()


class DispatchInterruptTest(tf.test.TestCase):

  def test_keyboard_interrupt_is_exit_130_and_one_line(self):
    def handler(args):
      raise KeyboardInterrupt
    status, out, err = run_main(lambda argv: dispatch("prog", _parser_running(handler), argv))
    self.assertEqual(status, 130)
    self.assertEqual(out, "")
    self.assertEqual(err, "prog: interrupted\n")

  def test_an_error_caused_by_the_interrupt_is_reported_as_the_interrupt(self):
    def handler(args):
      try:
        signal.raise_signal(signal.SIGINT)
      except KeyboardInterrupt:
        pass
      raise RuntimeError("the worker went away")
    with catch_interrupts():
      status, _, err = run_main(lambda argv: dispatch("prog", _parser_running(handler), argv))
    self.assertEqual((status, err), (130, "prog: interrupted\n"))


class ClosedReaderStreamTest(tf.test.TestCase):

  def test_the_wrapped_streams_keep_their_other_attributes(self):
    original_out, original_err = sys.stdout, sys.stderr
    with tolerate_closed_output("prog"):
      self.assertIsNot(sys.stdout, original_out)
      self.assertIs(sys.stdout.buffer, original_out.buffer)
      self.assertEqual(sys.stderr.encoding, original_err.encoding)
    self.assertIs(sys.stdout, original_out)


class CommandLineSignalsTest(tf.test.TestCase):

  def assert_interrupted_cleanly(self, process):
    _, err = process.communicate(timeout=300)
    err = err.decode()
    self.assertEqual(process.returncode, 130, err[-2000:])
    self.assertTrue(err.endswith("tff-course: interrupted\n"), err[-2000:])
    self.assertNotIn("Traceback", err)
    self.assertNotIn("Exception ignored", err)

  def test_ctrl_c_during_start_up(self):
    """Ctrl-C while the commands' modules load (numpy's core library mapped: the toolkit's
    code is running), and later while TensorFlow loads."""
    for delay in (0.0, 3.0):
      process = _demo(self.create_tempdir().full_path, stdout=subprocess.DEVNULL,
                      stderr=subprocess.PIPE)
      _wait_for_library(process, "_multiarray_umath")
      time.sleep(delay)
      process.send_signal(signal.SIGINT)
      self.assert_interrupted_cleanly(process)

  def test_ctrl_c_during_training_stops_it(self):
    run_dir = self.create_tempdir().full_path
    process = _demo(run_dir, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 240
    while _rounds_written(run_dir) < 1 and time.monotonic() < deadline:
      time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    self.assert_interrupted_cleanly(process)
    self.assertLess(_rounds_written(run_dir), DEMO_ROUNDS)

  def test_closed_output_pipe_lets_the_run_finish(self):
    run_dir = self.create_tempdir().full_path
    process = subprocess.Popen(
        [sys.executable, "-m", "tff_course", "train", "demo", "--set", "train.rounds=8",
         "--out", run_dir], env=ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    process.stdout.read(300)
    process.stdout.close()
    self.assertEqual(process.wait(timeout=300), 0)
    self.assertEqual(_rounds_written(run_dir), 8)

  def test_closed_standard_output_is_noted_on_standard_error(self):
    process = subprocess.Popen(
        [sys.executable, "-m", "tff_course", "data", "list"], env=ENV,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdout.close()
    _, err = process.communicate(timeout=120)
    self.assertEqual(process.returncode, 0, err)
    self.assertIn(b"standard output was closed", err)
    self.assertNotIn(b"Traceback", err)
