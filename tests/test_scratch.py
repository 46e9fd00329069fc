"""The NumPy MLP, SGD and FedAvg: finite differences, TensorFlow and TFF agree with them."""

import numpy as np
import tensorflow as tf

from tests.counted_gradients import counted_gradients
from tff_course.algorithms.fedavg import build_fedavg
from tff_course.algorithms.local_work import LocalWork
from tff_course.algorithms.model_fn import keras_model_fn
from tff_course.algorithms.optimizers import build_optimizer
from tff_course.algorithms.schedules import round_schedule
from tff_course.data import load_dataset
from tff_course.partition import dirichlet_partition
from tff_course.sampling import create_device
from tff_course.scratch import (accuracy, batches, fedavg_iterations, fedavg_round, init_mlp,
                                linear_backward, loss_and_gradients, sgd, sgd_iterations)

SIZES = (10, 16, 4)


def keras_mlp():
  return tf.keras.Sequential([tf.keras.layers.InputLayer(input_shape=(SIZES[0],)),
                              tf.keras.layers.Dense(SIZES[1], activation="relu"),
                              tf.keras.layers.Dense(SIZES[2])])


class MlpTest(tf.test.TestCase):

  def test_linear_backward_by_hand(self):
    x = np.array([[1.0, 2.0]])
    weight = np.array([[1.0, 0.0, -1.0], [2.0, 1.0, 0.0]])
    grad_x, grad_w, grad_b = linear_backward(np.array([[1.0, -1.0, 2.0]]), x, weight)
    self.assertAllClose(grad_x, [[-1.0, 1.0]])
    self.assertAllClose(grad_w, [[1.0, -1.0, 2.0], [2.0, -2.0, 4.0]])
    self.assertAllClose(grad_b, [1.0, -1.0, 2.0])

  def test_gradients_match_finite_differences(self):
    rng = np.random.default_rng(0)
    params = [p.astype(np.float64) for p in init_mlp(SIZES, seed=1)]
    params[1] += 0.1
    x, y = rng.normal(size=(7, SIZES[0])), rng.integers(0, SIZES[-1], 7)
    _, grads = loss_and_gradients(params, x, y)
    eps = 1e-6
    for p, g in zip(params, grads):
      for index in [tuple(rng.integers(0, n) for n in p.shape) for _ in range(5)]:
        original = p[index]
        p[index] = original + eps
        up, _ = loss_and_gradients(params, x, y)
        p[index] = original - eps
        down, _ = loss_and_gradients(params, x, y)
        p[index] = original
        self.assertAllClose(g[index], (up - down) / (2 * eps), atol=1e-6)

  def test_gradients_match_tensorflow(self):
    rng = np.random.default_rng(2)
    model = keras_mlp()
    params = [w.astype(np.float32) for w in model.get_weights()]
    x = rng.normal(size=(9, SIZES[0])).astype(np.float32)
    y = rng.integers(0, SIZES[-1], 9)
    loss, grads = loss_and_gradients(params, x, y)
    with tf.GradientTape() as tape:
      tf_loss = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)(y, model(x))
    tf_grads = tape.gradient(tf_loss, model.trainable_variables)
    self.assertAllClose(loss, tf_loss.numpy(), atol=1e-6)
    for g, tg in zip(grads, tf_grads):
      self.assertAllClose(g, tg.numpy(), atol=1e-6)

  def test_sgd_learns_the_toy_task(self):
    toy = load_dataset("toy_iid", num_clients=4, samples_per_client=200)
    params = init_mlp(SIZES, seed=0)
    before = accuracy(params, toy.test.x, toy.test.y)
    params, _ = sgd(params, toy.train.x, toy.train.y, learning_rate=0.1, batch_size=16,
                    epochs=5, rng=np.random.default_rng(0))
    self.assertGreater(accuracy(params, toy.test.x, toy.test.y), max(before, 0.8))

  def test_batches_cover_every_example_each_epoch(self):
    order = np.concatenate(list(batches(10, 3, 2, np.random.default_rng(0))))
    self.assertEqual(sorted(order[:10].tolist()), list(range(10)))
    self.assertEqual(sorted(order[10:].tolist()), list(range(10)))
    self.assertEqual([len(b) for b in batches(10, None, 1, None)], [10])


class ServerIterationTest(tf.test.TestCase):

  def setUp(self):
    super().setUp()
    rng = np.random.default_rng(4)
    self.x = rng.normal(size=(23, SIZES[0])).astype(np.float32)
    self.y = rng.integers(0, SIZES[-1], 23)
    self.params = init_mlp(SIZES, seed=0)

  def test_an_sgd_iteration_is_one_step_on_one_batch(self):
    with counted_gradients() as evaluations:
      run = list(sgd_iterations(self.params, self.x, self.y, learning_rate=0.1, batch_size=5,
                                iterations=7, rng=np.random.default_rng(1)))
    self.assertEqual([steps for _, steps in run], [1] * 7)
    self.assertLen(evaluations, 7)
    batch = next(batches(23, 5, 1, np.random.default_rng(1)))
    _, grads = loss_and_gradients(self.params, self.x[batch], self.y[batch])
    for start, grad, got in zip(self.params, grads, run[0][0]):
      self.assertAllClose(got, start - 0.1 * grad)

  def test_a_fedavg_iteration_is_j_steps_on_every_client(self):
    clients = [(self.x[:7], self.y[:7]), (self.x[7:], self.y[7:])]
    with counted_gradients() as evaluations:
      run = list(fedavg_iterations(self.params, clients, learning_rate=0.1, batch_size=5,
                                   local_steps=3, iterations=2, rng=np.random.default_rng(1)))
    self.assertEqual([steps for _, steps in run], [6, 6])
    self.assertLen(evaluations, 12)
    expected, _ = fedavg_round(self.params, clients, learning_rate=0.1, batch_size=5,
                               rng=np.random.default_rng(1), steps=3)
    for e, got in zip(expected, run[0][0]):
      self.assertAllClose(e, got)


class FedAvgCrossCheckTest(tf.test.TestCase):

  def test_one_round_numpy_and_tff_agree(self):
    for mu in (0.0, 0.5):
      with self.subTest(mu=mu):
        self.check_one_round(mu)

  def check_one_round(self, mu):
    toy = load_dataset("toy_hetero", num_clients=5, samples_per_client=60)
    partition = dirichlet_partition(toy, 5, 1.0, min_size=10, seed=3)
    local = LocalWork(epochs=2, batch_size=8)
    devices = [create_device(c, toy, partition[c], batch_size=8, shuffle_seed=None)
               for c in partition]
    process = build_fedavg(keras_model_fn(keras_mlp, devices[0].dataset.element_spec),
                           client_optimizer=build_optimizer("sgd", 0.05),
                           server_optimizer=build_optimizer("sgd", 1.0), proximal_mu=mu)
    state = process.initialize()
    start = [np.asarray(w) for w in process.get_model_weights(state).trainable]
    clients = [(toy.train.x[partition[c]], toy.train.y[partition[c]]) for c in partition]
    expected, _ = fedavg_round(start, clients, learning_rate=0.05, batch_size=8, epochs=2,
                               proximal_mu=mu)
    state = process.next(state, [local.apply(d.dataset) for d in devices]).state
    got = process.get_model_weights(state).trainable
    for e, g in zip(expected, got):
      self.assertAllClose(e, g, atol=1e-5, rtol=0)
    self.assertGreater(max(np.abs(e - s).max() for e, s in zip(expected, start)), 1e-3)

  def test_scheduled_client_rate_matches_numpy_over_rounds(self):
    toy = load_dataset("toy_hetero", num_clients=3, samples_per_client=40)
    partition = dirichlet_partition(toy, 3, 1.0, min_size=10, seed=1)
    data = [create_device(c, toy, partition[c], batch_size=8, shuffle_seed=None).dataset
            for c in partition]
    schedule = round_schedule("cosine", 0.1, 3, 1)
    rates = [float(schedule(r)) for r in range(3)]
    self.assertAllClose(rates, [0.1, 0.1, 0.05])
    process = build_fedavg(keras_model_fn(keras_mlp, data[0].element_spec),
                           client_optimizer=build_optimizer("sgd", 123.0),
                           server_optimizer=build_optimizer("sgd", 1.0),
                           client_learning_rate=schedule)
    state = process.initialize()
    params = [np.asarray(w) for w in process.get_model_weights(state).trainable]
    clients = [(toy.train.x[partition[c]], toy.train.y[partition[c]]) for c in partition]
    for rate in rates:
      params, _ = fedavg_round(params, clients, learning_rate=rate, batch_size=8)
      state = process.next(state, data).state
    for expected, got in zip(params, process.get_model_weights(state).trainable):
      self.assertAllClose(expected, got, atol=1e-5, rtol=0)


if __name__ == "__main__":
  tf.test.main()
