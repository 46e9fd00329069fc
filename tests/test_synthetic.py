import math

import numpy as np
import tensorflow as tf

from tff_course.data import fedprox_synthetic, load_dataset, toy_classification
from tff_course.data.dataset import Modality
from tff_course.errors import ConfigError


def _whole(dataset):
  """(x, y, client_ids) of train and test together."""
  return tuple(np.concatenate([getattr(dataset.train, field), getattr(dataset.test, field)])
               for field in ("x", "y", "client_ids"))


def _label_shares(y, ids, num_clients, num_classes):
  return np.array([np.bincount(y[ids == client], minlength=num_classes) / np.sum(ids == client)
                   for client in range(num_clients)])


def _fit_softmax_regression(x, y, num_classes, steps=200, learning_rate=1.0):
  """Multinomial logistic regression by full-batch gradient descent (NumPy)."""
  weights = np.zeros((x.shape[1], num_classes))
  bias = np.zeros(num_classes)
  targets = np.eye(num_classes)[y]
  for _ in range(steps):
    logits = x @ weights + bias
    logits -= logits.max(axis=1, keepdims=True)
    probs = np.exp(logits)
    probs /= probs.sum(axis=1, keepdims=True)
    grad = (probs - targets) / len(x)
    weights -= learning_rate * x.T @ grad
    bias -= learning_rate * grad.sum(axis=0)
  return weights, bias


class FedProxSyntheticTest(tf.test.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.non_iid = fedprox_synthetic(1.0, 1.0, seed=0)
    cls.iid = fedprox_synthetic(iid=True, seed=0)

  def test_shapes_and_record(self):
    for dataset, name in ((self.non_iid, "synthetic"), (self.iid, "synthetic_iid")):
      self.assertEqual(dataset.name, name)
      self.assertIs(dataset.modality, Modality.FEATURES)
      self.assertEqual(dataset.num_classes, 10)
      self.assertEqual(tuple(dataset.label_names), tuple(str(c) for c in range(10)))
      for split in (dataset.train, dataset.test):
        self.assertEqual(split.x.shape[1:], (60,))
        self.assertEqual(split.x.dtype, np.float32)
        self.assertEqual(split.y.dtype, np.int64)
        self.assertEqual(split.client_ids.dtype, np.int64)
        self.assertBetween(int(split.y.min()), 0, 9)
        self.assertBetween(int(split.y.max()), 0, 9)
        self.assertEqual(sorted(set(split.client_ids.tolist())), list(range(30)))
        # Examples are grouped by device, in device order.
        self.assertTrue(np.all(np.diff(split.client_ids) >= 0))
      self.assertTrue(np.all(np.isfinite(dataset.train.x)))
    self.assertIn("alpha=1.0, beta=1.0, seed 0", self.non_iid.source)
    self.assertIn("IID", self.iid.source)

  def test_device_sizes_and_90_10_split(self):
    for dataset in (self.non_iid, self.iid):
      train_sizes = np.bincount(dataset.train.client_ids, minlength=30)
      test_sizes = np.bincount(dataset.test.client_ids, minlength=30)
      sizes = train_sizes + test_sizes
      self.assertGreaterEqual(int(sizes.min()), 50)
      for device in range(30):
        self.assertEqual(train_sizes[device], int(0.9 * sizes[device]), msg=f"device {device}")
        self.assertGreaterEqual(test_sizes[device], 5)
      # Log-normal sizes: unbalanced devices, as in the paper.
      self.assertGreater(sizes.max(), 4 * sizes.min())

  def test_same_seed_same_data_other_seed_other_data(self):
    for iid in (False, True):
      first = fedprox_synthetic(0.5, 0.5, iid=iid, seed=4)
      again = fedprox_synthetic(0.5, 0.5, iid=iid, seed=4)
      other = fedprox_synthetic(0.5, 0.5, iid=iid, seed=5)
      for a, b in zip(_whole(first), _whole(again)):
        np.testing.assert_array_equal(a, b)
      self.assertNotEqual(len(first.train) + len(first.test), len(other.train) + len(other.test))
      n = min(len(first.train), len(other.train))
      self.assertFalse(np.allclose(first.train.x[:n], other.train.x[:n]))

  def test_iid_inputs_share_one_distribution(self):
    x, _, ids = _whole(self.iid)
    means = np.array([x[ids == device].mean(axis=0) for device in range(30)])
    # x ~ N(0, Sigma) on every device.
    self.assertLess(np.abs(means.mean(axis=1)).max(), 0.05)
    self.assertLess(np.abs(means).max(), 0.5)
    # Sigma_jj = j^-1.2: the first feature varies most, the last least.
    std = x.std(axis=0)
    self.assertAllClose(std[[0, 9, 59]], np.array([1, 10, 60]) ** -0.6, rtol=0.1)

  def test_non_iid_inputs_differ_between_devices(self):
    x, _, ids = _whole(self.non_iid)
    means = np.array([x[ids == device].mean() for device in range(30)])
    # Each device's inputs centre on v_k ~ N(B_k, 1) with B_k ~ N(0, beta = 1).
    self.assertGreater(means.std(), 0.4)
    self.assertGreater(np.abs(means).max(), 1.0)
    beta_zero = fedprox_synthetic(1.0, 0.0, seed=0)
    x0, _, ids0 = _whole(beta_zero)
    means0 = np.array([x0[ids0 == device].mean() for device in range(30)])
    self.assertLess(means0.std(), means.std())

  def test_iid_labels_come_from_one_model(self):
    # A linear model fitted on devices 0-14 predicts devices 15-29 well when all devices
    # share one model, and badly when each device has its own (alpha = 1).
    accuracy = {}
    for name, dataset in (("iid", self.iid), ("non_iid", self.non_iid)):
      x, y, ids = dataset.train.x.astype(np.float64), dataset.train.y, dataset.train.client_ids
      x = x / x.std(axis=0)
      seen = ids < 15
      weights, bias = _fit_softmax_regression(x[seen], y[seen], 10)
      accuracy[name] = np.mean(np.argmax(x[~seen] @ weights + bias, axis=1) == y[~seen])
    self.assertGreater(accuracy["iid"], 0.75)
    self.assertLess(accuracy["non_iid"], 0.5)

  def test_label_mixes(self):
    distances = {}
    for name, dataset in (("iid", self.iid), ("non_iid", self.non_iid)):
      _, y, ids = _whole(dataset)
      shares = _label_shares(y, ids, 30, 10)
      pooled = np.bincount(y, minlength=10) / len(y)
      distances[name] = 0.5 * np.abs(shares - pooled).sum(axis=1)
    # One model and one input law: every device sees about the same label mix.
    self.assertLess(distances["iid"].max(), 0.4)
    # Own model and inputs per device: most devices see few classes.
    self.assertGreater(np.median(distances["non_iid"]), 0.6)

  def test_num_devices(self):
    dataset = fedprox_synthetic(num_devices=5, seed=1)
    self.assertEqual(sorted(set(dataset.train.client_ids.tolist())), list(range(5)))
    self.assertEqual(sorted(set(dataset.test.client_ids.tolist())), list(range(5)))
    dataset = fedprox_synthetic(iid=True, num_devices=1, seed=1)
    self.assertEqual(set(dataset.train.client_ids.tolist()), {0})

  def test_bad_arguments(self):
    for kwargs, message in (({"alpha": -1.0}, r"alpha: got -1\.0, expected a number >= 0"),
                            ({"beta": -0.5}, r"beta: got -0\.5, expected a number >= 0"),
                            ({"alpha": math.nan}, r"alpha: got nan"),
                            ({"num_devices": 0}, r"num_devices: got 0, expected at least 1"),
                            ({"num_devices": -3}, r"num_devices: got -3")):
      with self.assertRaisesRegex(ConfigError, message):
        fedprox_synthetic(**kwargs)

  def test_through_the_registry(self):
    direct = fedprox_synthetic(0.5, 0.25, num_devices=4, seed=3)
    loaded = load_dataset("synthetic", seed=3, alpha=0.5, beta=0.25, num_devices=4)
    for a, b in zip(_whole(direct), _whole(loaded)):
      np.testing.assert_array_equal(a, b)
    iid = load_dataset("synthetic-iid", seed=3, num_devices=4)
    self.assertEqual(iid.name, "synthetic_iid")
    for a, b in zip(_whole(fedprox_synthetic(iid=True, num_devices=4, seed=3)), _whole(iid)):
      np.testing.assert_array_equal(a, b)
    with self.assertRaisesRegex(ConfigError, r"alpha: got -2"):
      load_dataset("synthetic", alpha=-2)


class ToyClassificationTest(tf.test.TestCase):

  def test_shapes_and_record(self):
    for heterogeneous, name in ((False, "toy_iid"), (True, "toy_hetero")):
      dataset = toy_classification(heterogeneous=heterogeneous)
      self.assertEqual(dataset.name, name)
      self.assertIs(dataset.modality, Modality.FEATURES)
      self.assertEqual(dataset.num_classes, 4)
      self.assertEqual(dataset.train.x.shape, (10 * 160, 10))
      self.assertEqual(dataset.test.x.shape, (10 * 40, 10))
      self.assertEqual(dataset.train.x.dtype, np.float32)
      self.assertEqual(dataset.train.y.dtype, np.int64)
      self.assertEqual(np.bincount(dataset.train.client_ids).tolist(), [160] * 10)
      self.assertEqual(np.bincount(dataset.test.client_ids).tolist(), [40] * 10)
      self.assertTrue(np.all(np.diff(dataset.train.client_ids) >= 0))
    small = toy_classification(heterogeneous=True, num_clients=3, samples_per_client=20,
                               num_features=2, num_classes=3, seed=1)
    self.assertEqual(small.train.x.shape, (3 * 16, 2))
    self.assertEqual(small.test.x.shape, (3 * 4, 2))
    self.assertEqual(small.num_classes, 3)
    self.assertLess(int(small.train.y.max()), 3)

  def test_iid_and_heterogeneous_label_mixes(self):
    mixes = {}
    for heterogeneous in (False, True):
      dataset = toy_classification(heterogeneous=heterogeneous, seed=0)
      x, y, ids = _whole(dataset)
      mixes[heterogeneous] = _label_shares(y, ids, 10, 4)
    distance = {key: 0.5 * np.abs(value - 0.25).sum(axis=1) for key, value in mixes.items()}
    # IID: 200 uniform draws per client stay close to a quarter per class.
    self.assertLess(distance[False].max(), 0.2)
    self.assertGreater(mixes[False].min(), 0.1)
    # Heterogeneous: Dirichlet(0.5) mixes are skewed.
    self.assertGreater(distance[True].mean(), 0.25)
    self.assertGreater(mixes[True].max(), 0.6)
    self.assertGreater(distance[True].mean(), 2 * distance[False].mean())

  def test_heterogeneous_clients_shift_their_inputs(self):
    spreads = {}
    for heterogeneous in (False, True):
      x, y, ids = _whole(toy_classification(heterogeneous=heterogeneous, seed=0))
      # Spread across clients of each client's mean input for one class.
      per_class = []
      for label in range(4):
        means = [x[(ids == client) & (y == label)].mean(axis=0) for client in range(10)
                 if np.sum((ids == client) & (y == label)) >= 10]
        if len(means) >= 2:
          per_class.append(np.std(means, axis=0).mean())
      spreads[heterogeneous] = np.mean(per_class)
    self.assertLess(spreads[False], 0.35)
    self.assertGreater(spreads[True], 0.8)

  def test_determinism(self):
    for heterogeneous in (False, True):
      first = toy_classification(heterogeneous=heterogeneous, seed=11)
      again = toy_classification(heterogeneous=heterogeneous, seed=11)
      other = toy_classification(heterogeneous=heterogeneous, seed=12)
      for a, b in zip(_whole(first), _whole(again)):
        np.testing.assert_array_equal(a, b)
      self.assertFalse(np.allclose(first.train.x, other.train.x))

  def test_bad_arguments(self):
    for kwargs, message in (({"num_clients": 0}, r"num_clients: got 0, expected at least 1"),
                            ({"samples_per_client": 4},
                             r"samples_per_client: got 4, expected at least 5"),
                            ({"num_features": 0}, r"num_features: got 0, expected at least 1"),
                            ({"num_classes": 1}, r"num_classes: got 1, expected at least 2")):
      for heterogeneous in (False, True):
        with self.assertRaisesRegex(ConfigError, message):
          toy_classification(heterogeneous=heterogeneous, **kwargs)

  def test_through_the_registry(self):
    loaded = load_dataset("toy_hetero", seed=2, num_clients=3, samples_per_client=20)
    direct = toy_classification(heterogeneous=True, num_clients=3, samples_per_client=20,
                                seed=2)
    for a, b in zip(_whole(direct), _whole(loaded)):
      np.testing.assert_array_equal(a, b)
    self.assertEqual(load_dataset("toy_iid", seed=2).name, "toy_iid")


if __name__ == "__main__":
  tf.test.main()
