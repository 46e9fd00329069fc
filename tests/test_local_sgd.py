"""Local SGD and SlowMo: the single-process simulation against a NumPy transcription of
SlowMo's Algorithm 1 on softmax regression, H = 1 against synchronous mini-batch SGD, and
K = 2 worker processes under MultiWorkerMirroredStrategy against the simulation."""

import numpy as np
import tensorflow as tf
from absl.testing import parameterized

from tff_course.distributed.job import LocalSGDJob
from tff_course.distributed.launch import run_workers
from tff_course.distributed.local_sgd import simulate
from tff_course.distributed.slowmo import SlowMoSettings
from tff_course.distributed.worker_batches import worker_batch
from tff_course.errors import ConfigError

FEATURES, CLASSES = 6, 4


def softmax_regression():
  return tf.keras.Sequential([tf.keras.Input((FEATURES,)), tf.keras.layers.Dense(CLASSES)])


def data(count=96, seed=0):
  rng = np.random.default_rng(seed)
  return (rng.normal(size=(count, FEATURES)).astype(np.float32),
          rng.integers(0, CLASSES, count).astype(np.int64))


def numpy_gradient(w, b, x, y):
  """Closed-form gradient of the mean cross-entropy of softmax(x w + b)."""
  logits = x @ w + b
  p = np.exp(logits - logits.max(axis=1, keepdims=True))
  p /= p.sum(axis=1, keepdims=True)
  p[np.arange(len(y)), y] -= 1.0
  return x.T @ p / len(y), p.mean(axis=0)


def numpy_slowmo(start, x, y, settings):
  """SlowMo, Algorithm 1 of Wang et al. 2020, in float64 (inner SGD without momentum)."""
  params = [np.float64(value) for value in start]
  slow = [np.zeros_like(value) for value in params]
  gamma = settings.inner_lr
  for sync in range(settings.syncs):
    finals = []
    for worker in range(settings.workers):
      w, b = (value.copy() for value in params)
      for step in range(sync * settings.local_steps, (sync + 1) * settings.local_steps):
        batch = worker_batch(len(x), settings.workers, settings.batch_size, settings.seed,
                             step, worker)
        gw, gb = numpy_gradient(w, b, x[batch].astype(np.float64), y[batch])
        w, b = w - gamma * gw, b - gamma * gb
      finals.append((w, b))
    averaged = [np.mean([final[i] for final in finals], axis=0) for i in range(2)]
    slow = [settings.outer_momentum * u + (p - a) / gamma
            for p, a, u in zip(params, averaged, slow)]
    params = [p - settings.outer_lr * gamma * u for p, u in zip(params, slow)]
  return params


def initial_weights(seed):
  tf.keras.utils.set_random_seed(seed)
  return [v.numpy() for v in softmax_regression().trainable_variables]


class LocalSGDSimulationTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.named_parameters(
      ("local_sgd", 3, 0.0, 1.0),
      ("slowmo", 3, 0.6, 0.9),
      ("slowmo_h1", 1, 0.5, 1.2),
  )
  def test_matches_numpy_algorithm_1(self, local_steps, beta, alpha):
    x, y = data()
    settings = SlowMoSettings(workers=3, local_steps=local_steps, syncs=4, batch_size=8,
                              inner_lr=0.2, outer_momentum=beta, outer_lr=alpha, seed=5)
    weights, records = simulate(softmax_regression, settings, x, y)
    expected = numpy_slowmo(initial_weights(5), x, y, settings)
    for got, want in zip(weights, expected):
      self.assertAllClose(got, want, rtol=1e-5, atol=1e-5)
    self.assertLen(records, 4)
    self.assertEqual(records[0].bytes_reduced, (FEATURES * CLASSES + CLASSES) * 4)

  def test_one_local_step_is_synchronous_minibatch_sgd(self):
    x, y = data()
    settings = SlowMoSettings(workers=2, local_steps=1, syncs=5, batch_size=8, inner_lr=0.3,
                              seed=2)
    weights, _ = simulate(softmax_regression, settings, x, y)
    tf.keras.utils.set_random_seed(2)
    model = softmax_regression()
    model.compile(tf.keras.optimizers.SGD(0.3),
                  tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    for step in range(5):
      union = np.concatenate([worker_batch(len(x), 2, 8, 2, step, worker) for worker in (0, 1)])
      model.train_on_batch(x[union], y[union])
    for got, want in zip(weights, model.get_weights()):
      self.assertAllClose(got, want, rtol=1e-5, atol=1e-6)

  def test_bad_settings_are_one_line_each(self):
    with self.assertRaisesRegex(ConfigError, r"^local_steps \(H\): got 0, expected an integer "
                                             r">= 1$"):
      SlowMoSettings(local_steps=0)
    with self.assertRaisesRegex(ConfigError, r"^outer_momentum \(beta\): got 1.0"):
      SlowMoSettings(outer_momentum=1.0)
    with self.assertRaisesRegex(ConfigError, r"^batch_size: 2 workers x 64 = 128 examples a "
                                             r"step, but the training set has 96"):
      worker_batch(96, 2, 64, 0, 0, 0)


class LocalSGDProcessesTest(tf.test.TestCase):

  def test_two_worker_processes_match_the_simulation(self):
    settings = SlowMoSettings(workers=2, local_steps=2, syncs=3, batch_size=16,
                              inner_lr=0.1, inner_momentum=0.5, outer_momentum=0.5,
                              outer_lr=0.8, seed=1)
    job = LocalSGDJob(settings, dataset="synthetic_iid", model="mlp")
    out_dir = self.create_tempdir().full_path
    per_worker, records = run_workers(job, out_dir, progress=False, timeout=120)
    x, y, build = job.load()
    expected, simulated = simulate(build, settings, x, y)
    for weights in per_worker:
      for got, want in zip(weights, expected):
        self.assertAllClose(got, want, rtol=1e-5, atol=1e-5)
    self.assertEqual([r.sync for r in records], [1, 2, 3])
    self.assertAllClose([r.loss for r in records], [r.loss for r in simulated], rtol=1e-5)
    self.assertTrue(all(r.communication_seconds > 0 for r in records))

  def test_a_port_in_use_and_a_worker_that_never_joins_are_one_line(self):
    import socket

    from tff_course.distributed.addresses import free_ports
    from tff_course.distributed.process_group import ProcessFailed

    job = LocalSGDJob(SlowMoSettings(workers=2, local_steps=1, syncs=1, batch_size=8),
                      dataset="synthetic_iid", model="logistic")
    out_dir = self.create_tempdir().full_path
    with socket.socket() as taken:
      taken.bind(("127.0.0.1", 0))
      port = taken.getsockname()[1]
      with self.assertRaisesRegex(ConfigError, rf"^address 127.0.0.1:{port}: cannot listen "
                                               r"there \(Address already in use\)"):
        run_workers(job, out_dir, addresses=["127.0.0.1:%d" % free_ports(1)[0],
                                             f"127.0.0.1:{port}"], progress=False)
    absent = "192.0.2.1:2222"
    with self.assertRaisesRegex(ProcessFailed, rf"^the cluster did not form within 15 s; no "
                                               rf"answer from {absent}; stopped the processes$"):
      run_workers(job, out_dir, addresses=[f"127.0.0.1:{free_ports(1)[0]}", absent],
                  progress=False, startup_timeout=15)


if __name__ == "__main__":
  tf.test.main()
