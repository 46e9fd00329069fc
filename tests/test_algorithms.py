"""Algorithm building blocks: averaging, local work, optimizers, FedProx and server momentum."""

import numpy as np
import tensorflow as tf
from absl.testing import parameterized

from tff_course.algorithms import (LocalWork, average_weights, build_fedavg, build_optimizer)
from tff_course.algorithms.client_work import model_types
from tff_course.algorithms.model_fn import keras_model_fn
from tff_course.data import load_dataset
from tff_course.errors import ConfigError
from tff_course.partition import natural_partition
from tff_course.sampling import create_device


class AverageWeightsTest(tf.test.TestCase):

  def test_weighted_and_uniform(self):
    a = [np.array([0.0, 2.0]), np.array([[1.0]])]
    b = [np.array([3.0, 2.0]), np.array([[4.0]])]
    weighted = average_weights([a, b], [2, 1])
    self.assertAllClose(weighted[0], [1.0, 2.0])
    self.assertAllClose(weighted[1], [[2.0]])
    self.assertAllClose(average_weights([a, b])[0], [1.5, 2.0])
    self.assertEqual(weighted[0].dtype, np.float64)
    self.assertEqual(average_weights([[np.float32([1])], [np.float32([2])]])[0].dtype,
                     np.float32)

  def test_errors(self):
    with self.assertRaisesRegex(ConfigError, "no models"):
      average_weights([])
    with self.assertRaisesRegex(ConfigError, "different layer shapes"):
      average_weights([[np.zeros(2)], [np.zeros(3)]])
    with self.assertRaisesRegex(ConfigError, "num_examples: expected 2 non-negative"):
      average_weights([[np.zeros(2)], [np.zeros(2)]], [1, -1])


class LocalWorkTest(tf.test.TestCase):

  def test_epochs_and_steps(self):
    batches = tf.data.Dataset.range(3)
    self.assertEqual(list(LocalWork(epochs=2).apply(batches).as_numpy_iterator()),
                     [0, 1, 2, 0, 1, 2])
    self.assertEqual(list(LocalWork(epochs=None, steps=5).apply(batches).as_numpy_iterator()),
                     [0, 1, 2, 0, 1])

  def test_errors(self):
    with self.assertRaisesRegex(ConfigError, "epochs or steps, not both"):
      LocalWork(epochs=1, steps=2)
    with self.assertRaisesRegex(ConfigError, "batch_size: got 0"):
      LocalWork(batch_size=0)


class OptimizerTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.parameters("sgd", "adam", "yogi", "adagrad")
  def test_builds(self, name):
    optimizer = build_optimizer(name, 0.1)
    state = optimizer.initialize((tf.TensorSpec([2], tf.float32),))
    _, updated = optimizer.next(state, (tf.constant([1.0, 1.0]),), (tf.constant([1.0, -1.0]),))
    self.assertAllLess(updated[0][:1], 1.0)
    self.assertAllGreater(updated[0][1:], 1.0)

  def test_sgdm_step_is_momentum_sgd(self):
    optimizer = build_optimizer("sgdm", 0.5, momentum=0.9)
    state = optimizer.initialize((tf.TensorSpec([1], tf.float32),))
    weights = (tf.constant([0.0]),)
    for _ in range(2):
      state, weights = optimizer.next(state, weights, (tf.constant([1.0]),))
    # v1 = 1, w1 = -0.5; v2 = 0.9 + 1 = 1.9, w2 = -0.5 - 0.95 = -1.45
    self.assertAllClose(weights[0], [-1.45])

  def test_errors(self):
    with self.assertRaisesRegex(ConfigError, "momentum: got None"):
      build_optimizer("sgdm", 0.1)
    with self.assertRaisesRegex(ConfigError, "optimizer: got 'lamb'"):
      build_optimizer("lamb", 0.1)
    with self.assertRaisesRegex(ConfigError, "learning_rate: got -1"):
      build_optimizer("sgd", -1)

  def test_keras_optimizer_is_refused_with_what_to_pass(self):
    spec = (tf.TensorSpec([None, 3], tf.float32), tf.TensorSpec([None], tf.int64))
    model_fn = keras_model_fn(
        lambda: tf.keras.Sequential([tf.keras.Input((3,)), tf.keras.layers.Dense(2)]), spec)
    sgd = build_optimizer("sgd", 1.0)
    with self.assertRaisesRegex(ConfigError, r"^client_optimizer: got a Keras optimizer \(SGD\), "
                                             r"expected a TFF optimizer such as tff_course\."
                                             r"algorithms\.build_optimizer\('sgd', 0\.1\)[^\n]*$"):
      build_fedavg(model_fn, client_optimizer=tf.keras.optimizers.SGD(0.1), server_optimizer=sgd)
    with self.assertRaisesRegex(ConfigError, r"^server_optimizer: got a function \(<lambda>\), "
                                             r"expected a TFF optimizer"):
      build_fedavg(model_fn, client_optimizer=sgd,
                   server_optimizer=lambda: tf.keras.optimizers.Adam(0.01))


class FedProxTest(tf.test.TestCase):

  def test_proximal_term_pulls_towards_the_server_model(self):
    toy = load_dataset("toy_hetero", num_clients=4, samples_per_client=100)
    partition = natural_partition(toy)
    data = [LocalWork(epochs=5, batch_size=10).apply(
        create_device(c, toy, partition[c], batch_size=10, shuffle_seed=None).dataset)
            for c in partition]

    def model():
      return tf.keras.Sequential([tf.keras.layers.InputLayer(input_shape=(10,)),
                                  tf.keras.layers.Dense(4)])

    distances = {}
    for mu in (0.0, 1.0):
      process = build_fedavg(keras_model_fn(model, data[0].element_spec),
                             client_optimizer=build_optimizer("sgd", 0.05),
                             server_optimizer=build_optimizer("sgd", 1.0), proximal_mu=mu)
      state = process.initialize()
      zeros = tf.nest.map_structure(np.zeros_like, process.get_model_weights(state))
      state = process.set_model_weights(state, zeros)
      after = process.get_model_weights(process.next(state, data).state)
      distances[mu] = sum(float(np.sum(np.square(w))) for w in after.trainable)
    self.assertGreater(distances[0.0], 1.5 * distances[1.0])
    self.assertGreater(distances[1.0], 0.0)
    with self.assertRaisesRegex(ConfigError, "proximal_mu: got -1"):
      build_fedavg(None, client_optimizer=None, server_optimizer=None, proximal_mu=-1)


class ModelTypesTest(tf.test.TestCase):

  def test_a_process_reads_its_model_types_once(self):
    builds = []

    def model():
      builds.append(1)
      return tf.keras.Sequential([tf.keras.layers.InputLayer(input_shape=(3,)),
                                  tf.keras.layers.Dense(2)])

    spec = (tf.TensorSpec([None, 3], tf.float32), tf.TensorSpec([None], tf.int32))
    model_fn = keras_model_fn(model, spec)
    weights_type, data_type, _ = model_types(model_fn)
    self.assertLen(builds, 1)
    self.assertIs(model_types(model_fn)[0], weights_type)
    self.assertEqual(str(data_type), "<float32[?,3],int32[?]>*")
    build_fedavg(model_fn, client_optimizer=build_optimizer("sgd", 0.1),
                 server_optimizer=build_optimizer("sgd", 1.0))
    self.assertLen(builds, 3, "only the initial weights and the client step build it")
    self.assertLen(model_types(keras_model_fn(model, spec))[0].trainable, 2)
    self.assertLen(builds, 4)


def _numpy_adam_steps(weights, batches, lr, steps, beta_1=0.9, beta_2=0.999, eps=1e-7):
  """Softmax regression trained by Adam from fresh moments, in NumPy: (kernel, bias)."""
  kernel, bias = (np.array(w, np.float64) for w in weights)
  moments = [(np.zeros_like(kernel), np.zeros_like(kernel)),
             (np.zeros_like(bias), np.zeros_like(bias))]
  for step, (x, y) in zip(range(1, steps + 1), batches):
    logits = x @ kernel + bias
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    p[np.arange(len(y)), y] -= 1.0
    gradients = (x.T @ p / len(y), p.mean(axis=0))
    updated = []
    for value, gradient, (m, v) in zip((kernel, bias), gradients, moments):
      m[...] = beta_1 * m + (1 - beta_1) * gradient
      v[...] = beta_2 * v + (1 - beta_2) * gradient ** 2
      rate = lr * np.sqrt(1 - beta_2 ** step) / (1 - beta_1 ** step)
      updated.append(value - rate * m / (np.sqrt(v) + eps))
    kernel, bias = updated
  return kernel, bias


class ClientAdamTest(tf.test.TestCase):

  def test_fedavg_clients_take_adam_steps_from_fresh_moments_each_round(self):
    self._check_against_numpy(schedule=None, rates=[0.05, 0.05])

  def test_a_round_schedule_sets_the_client_adam_rate(self):
    from tff_course.algorithms.schedules import round_schedule

    schedule = round_schedule("cosine", 0.05, 3, 1)
    rates = [float(schedule(r)) for r in range(3)]
    self.assertAllClose(rates, [0.05, 0.05, 0.025])
    self._check_against_numpy(schedule=schedule, rates=rates)

  def _check_against_numpy(self, schedule, rates):
    from tff_course.experiment.config import TrainConfig
    from tff_course.experiment.federation import _client_optimizer

    rng = np.random.default_rng(0)
    x = rng.normal(size=(30, 5)).astype(np.float32)
    y = rng.integers(0, 3, size=30).astype(np.int64)
    data = tf.data.Dataset.from_tensor_slices((x, y)).batch(10)

    def model():
      return tf.keras.Sequential([tf.keras.layers.InputLayer(input_shape=(5,)),
                                  tf.keras.layers.Dense(3)])

    train = TrainConfig(client_optimizer="adam", client_lr=0.05)
    process = build_fedavg(keras_model_fn(model, data.element_spec),
                           client_optimizer=_client_optimizer(train),
                           server_optimizer=build_optimizer("sgd", 1.0),
                           client_learning_rate=schedule)
    state = process.initialize()
    start = [rng.normal(size=(5, 3)).astype(np.float32), np.zeros(3, np.float32)]
    state = process.set_model_weights(
        state, process.get_model_weights(state).__class__(trainable=start, non_trainable=[]))
    batches = [(x[i:i + 10].astype(np.float64), y[i:i + 10]) for i in range(0, 30, 10)]
    expected = start
    for rate in rates:
      state = process.next(state, [data]).state
      expected = _numpy_adam_steps(expected, batches, rate, 3)
      self.assertAllClose(process.get_model_weights(state).trainable, expected,
                          rtol=1e-5, atol=1e-5)

if __name__ == "__main__":
  tf.test.main()
