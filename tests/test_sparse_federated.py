"""Sparse FedAvg against NumPy: clients run masked PyTorch-style SGDM, send masked entries."""

import numpy as np
import tensorflow as tf

from tests.test_sparse_sgdm import torch_sgd
from tff_course.algorithms import build_optimizer
from tff_course.algorithms.model_fn import keras_model_fn
from tff_course.errors import ConfigError
from tff_course.runtime.keras_classes import usable_eagerly
from tff_course.sparse.calibration import CalibrationSettings, calibrate_masks, eligible_keys
from tff_course.sparse.federated import build_sparse_fedavg, masks_in_order
from tff_course.sparse.federated_fisher import federated_sensitivity
from tff_course.sparse.fisher import fisher_sensitivity
from tff_course.sparse.mask_set import model_shapes
from tff_course.sparse.sgdm_step import SGDMSettings

FEATURES, CLASSES, BATCH = 4, 3, 5


def softmax_regression():
  return tf.keras.Sequential([tf.keras.Input((FEATURES,)),
                              tf.keras.layers.Dense(CLASSES, name="head")])


def hidden_model():
  tf.keras.utils.set_random_seed(5)
  inputs = tf.keras.Input((FEATURES,))
  x = tf.keras.layers.Dense(6, activation="tanh", name="hidden")(inputs)
  x = tf.keras.layers.LayerNormalization(name="norm")(x)
  return tf.keras.Model(inputs, tf.keras.layers.Dense(CLASSES, name="head")(x))


def numpy_gradients(kernel, bias, x, y):
  """Mean cross-entropy gradients of softmax regression."""
  logits = x @ kernel + bias
  p = np.exp(logits - logits.max(1, keepdims=True))
  p /= p.sum(1, keepdims=True)
  residual = (p - np.eye(CLASSES)[y]) / len(y)
  return x.T @ residual, residual.sum(0)


def numpy_client(kernel, bias, batches, masks, lr, settings):
  """The client's masked SGDM run, one parameter pair, via torch_sgd's algorithm."""
  weights = [kernel.astype(np.float64), bias.astype(np.float64)]
  gradients_seen = [[], []]
  for x, y in batches:
    gradients = numpy_gradients(weights[0], weights[1], x, y)
    for index in range(2):
      gradients_seen[index].append(gradients[index])
      weights[index] = torch_sgd(
          [kernel, bias][index], gradients_seen[index], lr, settings.momentum,
          settings.dampening, settings.nesterov, settings.weight_decay, masks[index])
  return weights


class SparseFedAvgTest(tf.test.TestCase):

  def setUp(self):
    super().setUp()
    rng = np.random.default_rng(0)
    self.clients = []
    for size in (15, 10):
      x = rng.normal(size=(size, FEATURES)).astype(np.float32)
      self.clients.append((x, rng.integers(0, CLASSES, size)))
    self.masks = {"head/kernel": (rng.random((FEATURES, CLASSES)) < 0.5).astype(np.float32),
                  "head/bias": np.array([1, 0, 1], np.float32)}
    self.settings = SGDMSettings(momentum=0.9, weight_decay=0.01)

  def datasets(self):
    return [tf.data.Dataset.from_tensor_slices((x, y)).batch(BATCH) for x, y in self.clients]

  def test_a_round_matches_numpy_and_masked_entries_never_move(self):
    """Also: a Keras model built before the process fails when called (Keras swapped its
    classes to v1 while TFF built the process's models) until `usable_eagerly`."""
    data = self.datasets()
    model = softmax_regression()
    ordered = masks_in_order(model, self.masks)
    process = build_sparse_fedavg(keras_model_fn(softmax_regression, data[0].element_spec),
                                  ordered, client_learning_rate=0.3,
                                  server_optimizer=build_optimizer("sgd", 1.0),
                                  sgdm=self.settings)
    state = process.initialize()
    start = process.get_model_weights(state).trainable
    kernel, bias = (np.asarray(w) for w in start)
    output = process.next(state, data)
    with self.assertRaisesRegex(ValueError, "invalid state"):
      model(self.clients[0][0])
    self.assertEqual(usable_eagerly(model)(self.clients[0][0]).shape, (15, CLASSES))
    updates, weights = [], []
    for x, y in self.clients:
      batches = [(x[i:i + BATCH], y[i:i + BATCH]) for i in range(0, len(y), BATCH)]
      local = numpy_client(kernel, bias, batches, ordered, 0.3, self.settings)
      updates.append([kernel - local[0], bias - local[1]])
      weights.append(len(y))
    mean = [sum(w * u[i] for w, u in zip(weights, updates)) / sum(weights) for i in range(2)]
    after = process.get_model_weights(output.state).trainable
    np.testing.assert_allclose(after[0], kernel - mean[0], atol=1e-5)
    np.testing.assert_allclose(after[1], bias - mean[1], atol=1e-5)
    for value, start_value, mask in zip(after, (kernel, bias), ordered):
      self.assertTrue(np.array_equal(np.asarray(value)[mask == 0], start_value[mask == 0]))
    self.assertFalse(np.allclose(after[0], kernel))
    opened = int(sum(m.sum() for m in ordered))
    self.assertEqual(int(output.metrics["aggregator"]["bits_up"]), 2 * 32 * (opened + 1))

  def test_dense_upload_counts_every_entry_and_gives_the_same_model(self):
    data = self.datasets()
    ordered = masks_in_order(softmax_regression(), self.masks)
    models, start = {}, None
    for sparse in (True, False):
      process = build_sparse_fedavg(keras_model_fn(softmax_regression, data[0].element_spec),
                                    ordered, client_learning_rate=0.3,
                                    server_optimizer=build_optimizer("sgd", 1.0),
                                    sgdm=self.settings, sparse_upload=sparse)
      state = process.initialize()
      start = start or process.get_model_weights(state)
      output = process.next(process.set_model_weights(state, start), data)
      models[sparse] = process.get_model_weights(output.state).trainable
      bits = int(output.metrics["aggregator"]["bits_up"])
      self.assertEqual(bits, 2 * 32 * ((FEATURES * CLASSES + CLASSES) if not sparse else
                                       int(sum(m.sum() for m in ordered))) + 2 * 32)
    for sparse_value, dense_value in zip(models[True], models[False]):
      np.testing.assert_allclose(sparse_value, dense_value, atol=1e-6)

  def test_masks_of_another_model_are_one_line(self):
    model = softmax_regression()
    shapes = model_shapes(model)
    with self.assertRaisesRegex(ConfigError, r"^masks: head/kernel \(3, 4\) \(expected "
                                             r"\(4, 3\)\), the model's variable$"):
      masks_in_order(model, {"head/kernel": np.ones((3, 4)), "head/bias": np.ones(3)})
    self.assertEqual(shapes, {"head/kernel": (4, 3), "head/bias": (3,)})


class FederatedFisherTest(tf.test.TestCase):

  def test_clients_scores_summed_at_the_server_equal_the_central_fisher(self):
    rng = np.random.default_rng(2)
    clients = [(rng.normal(size=(n, FEATURES)).astype(np.float32),
                rng.integers(0, CLASSES, n)) for n in (7, 12, 5)]
    data = [tf.data.Dataset.from_tensor_slices(c).batch(4) for c in clients]
    model = hidden_model()
    eligible = eligible_keys(model, head=True)
    model_fn = keras_model_fn(hidden_model, data[0].element_spec)
    federated = federated_sensitivity(model_fn, model, eligible, data, targets="empirical")
    images = np.concatenate([x for x, _ in clients])
    labels = np.concatenate([y for _, y in clients])
    central = fisher_sensitivity(images, labels, eligible, targets="empirical")
    scores, expected = federated(model), central(model)
    self.assertEqual(sorted(scores), sorted(eligible))
    for key in eligible:
      np.testing.assert_allclose(scores[key], expected[key], rtol=1e-4, atol=1e-8)
    settings = CalibrationSettings(0.3, rounds=2)
    masks = calibrate_masks(model, settings, eligible, federated)
    central_masks = calibrate_masks(model, settings, eligible, central)
    agreement = np.mean(np.concatenate([(masks[k] == central_masks[k]).ravel()
                                        for k in eligible]))
    self.assertGreater(agreement, 0.98)
    sampled = federated_sensitivity(model_fn, model, eligible, data, targets="sampled",
                                    seed=1)(model)
    self.assertFalse(np.allclose(sampled["hidden/kernel"], expected["hidden/kernel"]))
