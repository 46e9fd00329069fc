"""Server optimizers inside FedAvg against NumPy FedAvg plus the optimizer's update rule.

The NumPy rules follow tff.learning.optimizers 0.87 (sgdm.py, adam.py, yogi.py,
adagrad.py): the server treats the example-weighted mean client update
(w_server - w_client) as a gradient g. Adam and Yogi scale the rate by
sqrt(1 - beta_2^t) / (1 - beta_1^t) and add epsilon outside the square root; Adagrad
adds it inside. Initial second moments: Adam 0, Yogi 1e-6, Adagrad 0.1 (TFF's
defaults, which build_optimizer keeps).
"""

import numpy as np
import tensorflow as tf
from absl.testing import parameterized

from tff_course.algorithms import build_fedavg, build_optimizer
from tff_course.algorithms.model_fn import keras_model_fn
from tff_course.scratch import fedavg_round

FEATURES, CLASSES, BATCH, CLIENT_LR = 4, 3, 3, 0.3
BETA_1, BETA_2, EPSILON = 0.9, 0.99, 1e-3


def sgdm_step(state, w, g, lr, momentum=0.9):
  a = momentum * state.get("a", np.zeros_like(g)) + g
  return {"a": a}, w - lr * a


def adam_step(state, w, g, lr):
  t = state.get("t", 0) + 1
  a = state.get("a", np.zeros_like(g)) * BETA_1 + (1 - BETA_1) * g
  p = state.get("p", np.zeros_like(g)) * BETA_2 + (1 - BETA_2) * g * g
  rate = lr * np.sqrt(1 - BETA_2 ** t) / (1 - BETA_1 ** t)
  return {"t": t, "a": a, "p": p}, w - rate * a / (np.sqrt(p) + EPSILON)


def yogi_step(state, w, g, lr):
  t = state.get("t", 0) + 1
  a = state.get("a", np.zeros_like(g)) * BETA_1 + (1 - BETA_1) * g
  p = state.get("p", np.full_like(g, 1e-6))
  p = p + (1 - BETA_2) * np.sign(g * g - p) * g * g
  rate = lr * np.sqrt(1 - BETA_2 ** t) / (1 - BETA_1 ** t)
  return {"t": t, "a": a, "p": p}, w - rate * a / (np.sqrt(p) + EPSILON)


def adagrad_step(state, w, g, lr):
  p = state.get("p", np.full_like(g, 0.1)) + g * g
  return {"p": p}, w - lr * g / np.sqrt(p + EPSILON)


def sgd_step(state, w, g, lr):
  return state, w - lr * g


STEPS = {"sgd": sgd_step, "sgdm": sgdm_step, "adam": adam_step, "yogi": yogi_step,
         "adagrad": adagrad_step}


def linear_model():
  return tf.keras.Sequential([tf.keras.layers.InputLayer(input_shape=(FEATURES,)),
                              tf.keras.layers.Dense(CLASSES)])


def tiny_clients():
  """Three clients of 5, 7 and 4 examples of FEATURES float32 features."""
  rng = np.random.default_rng(7)
  return [(rng.normal(size=(n, FEATURES)).astype(np.float32),
           rng.integers(0, CLASSES, n).astype(np.int32)) for n in (5, 7, 4)]


def numpy_rounds(start, clients, name, server_lr, rounds):
  """FedAvg rounds (local SGD in stored order) with the server rule `name`, in float64."""
  params = [p.astype(np.float64) for p in start]
  states = [{} for _ in params]
  data = [(x.astype(np.float64), y) for x, y in clients]
  for _ in range(rounds):
    averaged, _ = fedavg_round(params, data, learning_rate=CLIENT_LR, batch_size=BATCH)
    updates = [p - a for p, a in zip(params, averaged)]
    stepped = [STEPS[name](s, p, g, server_lr) for s, p, g in zip(states, params, updates)]
    states, params = [s for s, _ in stepped], [p for _, p in stepped]
  return params


class ServerOptimizerTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.parameters(("sgdm", 0.7), ("adam", 0.05), ("yogi", 0.05), ("adagrad", 0.2))
  def test_two_rounds_match_numpy(self, name, server_lr):
    clients = tiny_clients()
    datasets = [tf.data.Dataset.from_tensor_slices(c).batch(BATCH) for c in clients]
    process = build_fedavg(
        keras_model_fn(linear_model, datasets[0].element_spec),
        client_optimizer=build_optimizer("sgd", CLIENT_LR),
        server_optimizer=build_optimizer(name, server_lr,
                                         momentum=0.9 if name == "sgdm" else None))
    state = process.initialize()
    start = [np.asarray(w) for w in process.get_model_weights(state).trainable]
    rounds = 2
    for _ in range(rounds):
      state = process.next(state, datasets).state
    got = process.get_model_weights(state).trainable
    expected = numpy_rounds(start, clients, name, server_lr, rounds)
    for e, g in zip(expected, got):
      self.assertAllClose(e, g, atol=1e-5, rtol=0)
    plain = numpy_rounds(start, clients, "sgd", 1.0, rounds)
    self.assertGreater(max(float(np.abs(e - p).max()) for e, p in zip(expected, plain)), 1e-2)


if __name__ == "__main__":
  tf.test.main()
