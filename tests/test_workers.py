"""Rounds spread over several TFF workers: the worker set a config names, the same
metrics on 1, 2 and 3 loopback workers, and `tff-course worker` serving a driver."""

import csv
import os
import signal
import subprocess
import sys
import threading
import time
from unittest import mock

import portpicker
import tensorflow as tf

from tests.processes import alive, wait_gone
from tff_course.errors import ConfigError, WorkerError
from tff_course.experiment.config import DataConfig, ExperimentConfig, TrainConfig
from tff_course.experiment.records import check_resumable, record_run
from tff_course.experiment import runner
from tff_course.experiment.runner import run_experiment
from tff_course.runtime import context
from tff_course.runtime.context import current_pool, pool_addresses, wire_bytes
from tff_course.runtime.wire_bytes import WireBytes, WireCounter
from tff_course.runtime.worker_set import WorkerSet, worker_set

ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
CLI = [sys.executable, "-m", "tff_course"]
LONG_ROUND_STEPS = 1200
KILL_AFTER_SECONDS = 0.3


def config(**train):
  options = dict(model="mlp", client_lr=0.05, epochs=None, steps=3, batch_size=10,
                 rounds=2, client_fraction=0.5, eval_every=1, seed=0)
  return ExperimentConfig(name="workers", data=DataConfig(dataset="synthetic",
                                                          partition="natural",
                                                          num_clients=12),
                          train=TrainConfig(**{**options, **train}))


def metrics(run_dir):
  with open(os.path.join(run_dir, "metrics.csv"), newline="", encoding="utf-8") as stream:
    return [{k: float(v) for k, v in row.items() if k != "seconds" and v}
            for row in csv.DictReader(stream)]


def round_seconds(run_dir):
  with open(os.path.join(run_dir, "metrics.csv"), newline="", encoding="utf-8") as stream:
    return [float(row["seconds"]) for row in csv.DictReader(stream)]


def start_worker_command(test, port):
  """`tff-course worker --port PORT` in a subprocess, once it serves: (the command's
  process, its worker_binary's pid)."""
  process = subprocess.Popen(CLI + ["worker", "--port", str(port)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=ENV)
  test.addCleanup(lambda: process.poll() is None and process.kill())
  for line in process.stdout:
    if line.startswith(f"TFF worker serving on port {port} "):
      return process, int(line.split("(pid ")[1].split(")")[0])
  test.fail(f"no startup line; stderr: {process.stderr.read()}")
  return None


class WorkerSetTest(tf.test.TestCase):

  def test_counts_and_addresses(self):
    self.assertEqual(worker_set(1), WorkerSet())
    self.assertFalse(worker_set(1).merged)
    self.assertEqual(worker_set("3").count, 3)
    workers = worker_set("localhost:8000, 10.0.0.2:8001")
    self.assertEqual(workers.addresses, (("localhost", 8000), ("10.0.0.2", 8001)))
    self.assertTrue(worker_set("localhost:8000").merged)
    self.assertEqual(workers.describe(), "localhost:8000, 10.0.0.2:8001")

  def test_bad_values_are_one_line_each(self):
    for value, message in ((0, "got 0, expected a whole number of local workers >= 1"),
                           (True, "got True"), (2.5, "got 2.5"),
                           ("localhost", "got 'localhost', expected"),
                           ("localhost:0", "ports 1 to 65535"),
                           ("a:1,a:1", "lists a worker twice")):
      with self.subTest(value=value), self.assertRaises(ConfigError) as raised:
        worker_set(value)
      self.assertStartsWith(str(raised.exception), "train.workers: got ")
      self.assertIn(message, str(raised.exception))

  def test_group_mean_cannot_be_split_across_workers(self):
    with self.assertRaisesRegex(ConfigError, "^train.workers: got 2, but aggregator "
                                             "'group_mean' cannot be split"):
      config(aggregator="group_mean", workers=2)

  def test_a_run_resumes_on_other_workers(self):
    run_dir = self.create_tempdir().full_path
    record_run(run_dir, config(workers=2))
    self.assertTrue(check_resumable(run_dir, config(workers="localhost:8000")))
    with self.assertRaisesRegex(ConfigError, "train.steps: 3 -> 4"):
      check_resumable(run_dir, config(workers=3, steps=4))


class SameResultsTest(tf.test.TestCase):
  """A round split over workers gives the one-worker metrics: each worker aggregates its
  share and the driver merges (sums for the mean, gathered updates for the median)."""

  def assert_same_on(self, counts, **train):
    runs = []
    for count in counts:
      run_dir = self.create_tempdir().full_path
      run_experiment(config(workers=count, **train), run_dir,
                     on_round_end=lambda _, count=count: self.assertLen(pool_addresses(),
                                                                        count),
                     progress=False)
      runs.append(metrics(run_dir))
    for other in runs[1:]:
      self.assertLen(other, len(runs[0]))
      for row, expected in zip(other, runs[0]):
        self.assertAllClose(row, expected, rtol=1e-5, atol=1e-6)

  def test_fedavg_on_1_2_and_3_workers(self):
    self.assert_same_on((1, 2, 3))

  def test_fedprox_and_fedsgd(self):
    self.assert_same_on((1, 2), algorithm="fedprox", mu=0.1)
    self.assert_same_on((1, 3), algorithm="fedsgd", client_slots=0)

  def test_per_client_state_comes_back_in_the_clients_order(self):
    """SCAFFOLD's new client controls, one per client, return from the workers in the
    clients' order (TFF 0.87's pool took them in the order the workers finished)."""
    self.assert_same_on((1, 2, 3), algorithm="scaffold", rounds=3)

  def test_the_robust_aggregators_gather_every_update(self):
    self.assert_same_on((1, 2), aggregator="median")
    self.assert_same_on((1, 2), aggregator="trimmed_mean", trim_fraction=0.2)
    self.assert_same_on((1, 3), aggregator="krum", byzantine=1)


class ConcurrencyTest(tf.test.TestCase):

  def test_the_workers_compute_their_shares_at_the_same_time(self):
    """Each worker's CreateCall, which returns once the worker has computed its share,
    starts before the other's ends (TFF 0.87's remote executor ran them in turn)."""
    calls = []
    counted = WireCounter.intercept_unary_unary

    def timed(counter, continuation, details, request):
      start = time.monotonic()
      outcome = counted(counter, continuation, details, request)
      if details.method.endswith("/CreateCall"):
        calls.append((id(counter), start, time.monotonic()))
      return outcome

    run_dir = self.create_tempdir().full_path
    with mock.patch.object(WireCounter, "intercept_unary_unary", timed):
      run_experiment(config(workers=2, rounds=1, steps=LONG_ROUND_STEPS), run_dir,
                     progress=False)
    longest = {}
    for worker in {worker for worker, _, _ in calls}:
      longest[worker] = max(((start, end) for other, start, end in calls if other == worker),
                            key=lambda interval: interval[1] - interval[0])
    self.assertLen(longest, 2)
    (first_start, first_end), (second_start, second_end) = sorted(longest.values())
    self.assertLess(second_start, first_end,
                    f"the workers computed in turn: {first_start:.2f}-{first_end:.2f} s, then "
                    f"{second_start:.2f}-{second_end:.2f} s")


class WireBytesTest(tf.test.TestCase):

  def test_the_counter_adds_each_calls_serialized_request_and_response(self):
    from google.protobuf import wrappers_pb2

    class Outcome:
      def __init__(self, response):
        self.response = response

      def result(self):
        return self.response

    counter = WireCounter()
    for request, response in ((b"x" * 10, b"y" * 300), (b"", b"z")):
      outcome = counter.intercept_unary_unary(
          lambda _, r, response=response: Outcome(wrappers_pb2.BytesValue(value=response)),
          None, wrappers_pb2.BytesValue(value=request))
      self.assertEqual(outcome.result().value, response)
    self.assertEqual(counter.total, WireBytes(sent=12 + 0, received=303 + 3, calls=2))

  def test_each_worker_gets_the_model_and_sends_back_an_aggregate_every_round(self):
    counted = {}

    cpus = []

    def count(round_num):
      counted[round_num] = ([member.wire.total for member in current_pool()], wire_bytes())
      cpus.append([os.sched_getaffinity(member.process.pid) for member in current_pool()])

    run_dir = self.create_tempdir().full_path
    run_experiment(config(workers=2, rounds=3), run_dir, on_round_end=count, progress=False)
    if len(os.sched_getaffinity(0)) >= 2:
      first, second = cpus[0]
      self.assertFalse(first & second, "local workers share CPUs")
      self.assertEqual(first | second, os.sched_getaffinity(0))
    rows = metrics(run_dir)
    model = rows[0]["bytes_down"] / rows[0]["clients"]
    (first, _), (second, total) = counted[2], counted[3]
    self.assertEqual(total, second[0] + second[1])
    for before, after in zip(first, second):
      self.assertGreater((after - before).sent, model)
      self.assertGreater((after - before).received, model)


class FaultTest(tf.test.TestCase):

  def test_a_killed_worker_ends_the_run_naming_it_and_the_run_resumes(self):
    """SIGKILL between rounds 1 and 2, then, in the rerun, while round 3 computes: each
    time the run ends in bounded time naming the worker and keeps its checkpoint, and the
    last rerun ends with the uninterrupted run's metrics."""
    long_rounds = config(workers=2, rounds=4, checkpoint_every=1, steps=LONG_ROUND_STEPS)
    whole, broken = (self.create_tempdir().full_path for _ in range(2))
    run_experiment(long_rounds, whole, progress=False)
    self.assertGreater(round_seconds(whole)[2], 2 * KILL_AFTER_SECONDS,
                       "an uninterrupted round 3 is too short to be killed in its middle")
    killed = []

    def kill_between(round_num):
      if round_num == 1:
        worker = current_pool()[1].process
        os.kill(worker.pid, signal.SIGKILL)
        killed.append((worker.port, worker.pid))

    with self.assertRaises(WorkerError) as raised:
      run_experiment(long_rounds, broken, on_round_end=kill_between, progress=False)
    (port, pid), = killed
    self.assertRegex(str(raised.exception),
                     f"^TFF worker localhost:{port} stopped \\(exit status -9; its log: "
                     f".*\\); stopped. The last checkpoint is kept in .*checkpoints: run the "
                     f"same command again to resume$")
    self.assertTrue(wait_gone(pid))
    self.assertLen(metrics(broken), 1)

    original, times = runner._RoundLoop.next_round, {}

    def kill_soon(worker):
      time.sleep(KILL_AFTER_SECONDS)
      os.kill(worker.pid, signal.SIGKILL)
      times["kill"] = time.monotonic()

    def next_round(loop, state, data, chosen, round_num):
      if round_num == 3:
        worker = current_pool()[0].process
        killed.append((worker.port, worker.pid))
        threading.Thread(target=kill_soon, args=(worker,), daemon=True).start()
        times["start"] = time.monotonic()
      try:
        return original(loop, state, data, chosen, round_num)
      finally:
        times["end"] = time.monotonic()

    with mock.patch.object(runner._RoundLoop, "next_round", next_round), \
        self.assertRaises(WorkerError, msg="round 3 ended before the kill: lengthen it") as raised:
      run_experiment(long_rounds, broken, progress=False)
    self.assertRegex(str(raised.exception),
                     f"^TFF worker localhost:{killed[1][0]} stopped \\(exit status -9;")
    self.assertLess(times["start"], times["kill"])
    self.assertLess(times["end"] - times["kill"], 30)
    self.assertLen(metrics(broken), 2)
    run_experiment(long_rounds, broken, progress=False)
    self.assertLen(metrics(broken), 4)
    for row, expected in zip(metrics(broken), metrics(whole)):
      self.assertAllClose(row, expected, rtol=1e-5, atol=1e-6)

  def test_a_remote_worker_that_stops_answering_ends_the_run_after_the_wait(self):
    """...and once it serves again, the same command resumes to the metrics of a run
    that was never interrupted."""
    port = portpicker.pick_unused_port()
    _, binary_pid = start_worker_command(self, port)
    remote = config(workers=f"localhost:{port}", rounds=3, checkpoint_every=1)
    whole, broken = (self.create_tempdir().full_path for _ in range(2))
    killed = []

    def kill_it(round_num):
      if round_num == 1:
        os.kill(binary_pid, signal.SIGKILL)
        killed.append(time.monotonic())

    with mock.patch.object(context, "_CONNECT_TIMEOUT_SECONDS", 2.0), \
        self.assertRaisesRegex(WorkerError, f"^TFF worker localhost:{port} does not answer "
                                            "\\(waited 2 s\\); start it again"):
      run_experiment(remote, broken, on_round_end=kill_it, progress=False)
    self.assertLess(time.monotonic() - killed[0], 60)
    self.assertLen(metrics(broken), 1)
    start_worker_command(self, port)
    run_experiment(remote, broken, progress=False)
    run_experiment(config(workers=1, rounds=3, checkpoint_every=1), whole, progress=False)
    self.assertLen(metrics(broken), 3)
    for row, expected in zip(metrics(broken), metrics(whole)):
      self.assertAllClose(row, expected, rtol=1e-5, atol=1e-6)

  def test_workers_that_never_answer_end_the_run_before_its_first_round(self):
    port = portpicker.pick_unused_port()
    with mock.patch.object(context, "_CONNECT_TIMEOUT_SECONDS", 1.0), \
        self.assertRaisesRegex(WorkerError, f"^TFF worker localhost:{port} did not answer "
                                            f"within 1 s; start it on localhost with "
                                            f"`tff-course worker --port {port}`; stopped "
                                            f"before the run's first checkpoint: run the "
                                            f"same command again once the workers answer$"):
      run_experiment(config(workers=f"localhost:{port}"), self.create_tempdir().full_path,
                     progress=False)


class WorkerCommandTest(tf.test.TestCase):

  def test_serves_a_driver_and_stops_on_sigterm(self):
    ports = [portpicker.pick_unused_port() for _ in range(2)]
    workers = [start_worker_command(self, port) for port in ports]
    check = subprocess.run(CLI + ["worker", "--check", f"localhost:{ports[0]}"],
                           capture_output=True, text=True, env=ENV, timeout=60)
    self.assertEqual(check.returncode, 0, check.stderr)
    self.assertIn("answers", check.stdout)
    run_dir = self.create_tempdir().full_path
    driver = subprocess.run(
        CLI + ["train", "demo", "--set", "train.rounds=3", "--no-progress", "--out", run_dir,
               "--workers", ",".join(f"localhost:{port}" for port in ports)],
        capture_output=True, text=True, env=ENV, timeout=300)
    self.assertEqual(driver.returncode, 0, driver.stderr)
    self.assertIn("final round: test_accuracy", driver.stdout)
    for (process, binary_pid), port in zip(workers, ports):
      self.assertTrue(alive(binary_pid), "a driver stopped a worker it does not own")
      process.send_signal(signal.SIGTERM)
      self.assertEqual(process.wait(timeout=30), 0)
      self.assertIn(f"TFF worker on port {port} stopped (SIGTERM)", process.stderr.read())
      self.assertTrue(wait_gone(binary_pid))

  def test_no_worker_answers_in_one_line_after_the_timeout(self):
    port = portpicker.pick_unused_port()
    start = time.monotonic()
    check = subprocess.run(CLI + ["worker", "--check", f"localhost:{port}", "--timeout", "1"],
                           capture_output=True, text=True, env=ENV, timeout=60)
    self.assertEqual(check.returncode, 2)
    self.assertEqual(check.stderr.strip(),
                     f"tff-course: error: TFF worker localhost:{port} did not answer within "
                     f"1 s; start it on localhost with `tff-course worker --port {port}`")
    self.assertLess(time.monotonic() - start, 50)

  def test_check_takes_one_address(self):
    for value in ("8000", "localhost:8000,localhost:8001"):
      result = subprocess.run(CLI + ["worker", "--check", value, "--timeout", "1"],
                              capture_output=True, text=True, env=ENV, timeout=60)
      self.assertEqual(result.returncode, 2)
      self.assertEqual(result.stderr.strip(), f"tff-course: error: --check: got {value!r}, "
                                              f"expected one HOST:PORT, e.g. localhost:8000")

  def test_a_bad_port_is_one_line(self):
    result = subprocess.run(CLI + ["worker", "--port", "70000"], capture_output=True,
                            text=True, env=ENV, timeout=60)
    self.assertEqual(result.returncode, 2)
    self.assertEqual(result.stderr.strip(), "tff-course: error: --port: got 70000, expected "
                                            "a port from 1 to 65535")


if __name__ == "__main__":
  tf.test.main()
