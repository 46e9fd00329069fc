"""Asynchronous SGD on parameter-server processes: synchronous mode equals one-process SGD
on the same batches, every asynchronous update is recorded once with a staleness that fits
its place, a killed worker is named with no process left behind, bad settings are one
line."""

import os
import subprocess

import numpy as np
import tensorflow as tf

from tff_course.distributed.async_launch import run_async
from tff_course.distributed.async_sgd import AsyncSettings, AsyncStep, staleness_histogram
from tff_course.distributed.job import AsyncJob
from tff_course.distributed.process_group import ProcessFailed
from tff_course.distributed.reference_sgd import sgd_on_batches
from tff_course.errors import ConfigError

from tests.processes import alive

STEPS = 30


def job(workers, servers, synchronous):
  return AsyncJob(AsyncSettings(workers=workers, parameter_servers=servers, steps=STEPS,
                                batch_size=16, learning_rate=0.1, seed=3,
                                synchronous=synchronous),
                  dataset="synthetic_iid", model="mlp")


def largest_difference(weights, other):
  return max(float(np.max(np.abs(a - b))) for a, b in zip(weights, other))


class AsyncSgdTest(tf.test.TestCase):

  def test_synchronous_mode_equals_single_process_sgd(self):
    planned = job(2, 2, synchronous=True)
    weights, records = run_async(planned, self.create_tempdir().full_path, progress=False)
    x, y, build = planned.load()
    settings = planned.settings
    reference = sgd_on_batches(build, x, y, settings.batches(len(x)), settings.learning_rate,
                               settings.seed)
    start = sgd_on_batches(build, x, y, [], settings.learning_rate, settings.seed)
    self.assertLess(largest_difference(weights, reference), 1e-5)
    self.assertGreater(largest_difference(weights, start), 1e-2)
    self.assertEqual([r.staleness for r in records], [0] * STEPS)
    self.assertEqual([r.version for r in records], list(range(1, STEPS + 1)))

  def test_every_asynchronous_update_is_recorded_once(self):
    weights, records = run_async(job(2, 1, synchronous=False),
                                 self.create_tempdir().full_path, progress=False)
    self.assertEqual([r.step for r in records], list(range(STEPS)))
    self.assertCountEqual([r.version for r in records], range(1, STEPS + 1))
    for record in records:
      self.assertBetween(record.staleness, 0, record.version - 1)
    self.assertTrue(all(np.all(np.isfinite(w)) for w in weights))

  def test_a_killed_worker_ends_the_run_naming_it(self):
    pids = []

    def kill_worker_0(step):
      if step == 2:
        found = subprocess.run(["pgrep", "-P", str(os.getpid()), "-f", "--",
                                "--job worker --index 0$"], capture_output=True, text=True,
                               check=True)
        pids.extend(int(pid) for pid in found.stdout.split())
        subprocess.run(["kill", "-KILL", *map(str, pids)], check=True)

    with self.assertRaisesRegex(ProcessFailed,
                                "^worker 0 was killed by SIGKILL; stopped the other processes"):
      run_async(job(2, 1, synchronous=True), self.create_tempdir().full_path, progress=False,
                on_step=kill_worker_0, timeout=120)
    self.assertLen(pids, 1)
    children = subprocess.run(["pgrep", "-P", str(os.getpid()), "-f", "tff_course.distributed"],
                              capture_output=True, text=True, check=False).stdout.split()
    self.assertEqual([pid for pid in children if alive(int(pid))], [])

  def test_a_port_in_use_and_a_server_that_never_joins_are_one_line(self):
    import socket

    from tff_course.distributed.addresses import free_ports

    local = [f"127.0.0.1:{port}" for port in free_ports(3)]
    with socket.socket() as taken:
      taken.bind(("127.0.0.1", 0))
      port = taken.getsockname()[1]
      with self.assertRaisesRegex(ConfigError, rf"^address 127.0.0.1:{port}: cannot listen "
                                               r"there \(Address already in use\)"):
        run_async(job(2, 1, synchronous=False), self.create_tempdir().full_path,
                  addresses=local + [f"127.0.0.1:{port}"], progress=False)
    with self.assertRaisesRegex(ConfigError, r"^addresses: got 2 \(.*\), expected 4: one for "
                                             r"each of coordinator, worker 0, worker 1, ps 0$"):
      run_async(job(2, 1, synchronous=False), self.create_tempdir().full_path,
                addresses=local[:2], progress=False)
    absent = "192.0.2.1:2222"
    with self.assertRaisesRegex(ProcessFailed, rf"^the cluster did not form within 8 s; no "
                                               rf"answer from {absent}; stopped the processes$"):
      run_async(job(2, 1, synchronous=False), self.create_tempdir().full_path,
                addresses=local + [absent], progress=False, startup_timeout=8)

  def test_staleness_histogram(self):
    records = [AsyncStep(step, 0.0, step + 1, stale, 0.0)
               for step, stale in enumerate([0, 1, 0, 2, 1, 0])]
    self.assertEqual(staleness_histogram(records), {0: 3, 1: 2, 2: 1})

  def test_bad_settings_are_one_line(self):
    for field, value, expected in (("workers", 0, "expected an integer >= 1"),
                                   ("parameter_servers", 1.5, "expected an integer >= 1"),
                                   ("learning_rate", -0.1, r"expected a number in \(0, inf\)")):
      with self.assertRaisesRegex(ConfigError, f"^{field}: got {value!r}, {expected}"):
        AsyncSettings(**{field: value})


if __name__ == "__main__":
  tf.test.main()
