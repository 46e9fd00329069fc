"""A CIFAR-10 folder written by the tests, in the official format, whose first five
classes a hand-set reference network separates perfectly: class c lights the red
channel of pixel (0, c). For the pruning commands where the images do not matter. And a
CIFAR-100 folder of random images in its official format, for runs where its files
exist."""

import os
import pickle

import numpy as np

from pruning.reference import build_reference_model

NAMES = (b"airplane", b"automobile", b"bird", b"cat", b"deer", b"dog", b"frog", b"horse",
         b"ship", b"truck")
PER_BATCH = 600


def _dump(path, content):
  with open(path, "wb") as stream:
    pickle.dump(content, stream, protocol=2)


def _batch(rng, count):
  """Images (channel-major rows, as the official files) and labels 0..4, cycling."""
  labels = np.arange(count) % 5
  data = rng.integers(0, 40, (count, 3072), dtype=np.uint8)
  data[np.arange(count), labels] = 255
  return data, [int(v) for v in labels]


def write_fake_cifar10(data_dir):
  """Writes data_dir/cifar10/cifar-10-batches-py (5 x 600 training, 100 test images);
  returns data_dir."""
  folder = os.path.join(data_dir, "cifar10", "cifar-10-batches-py")
  os.makedirs(folder, exist_ok=True)
  rng = np.random.default_rng(0)
  _dump(os.path.join(folder, "batches.meta"),
        {b"label_names": list(NAMES), b"num_cases_per_batch": PER_BATCH, b"num_vis": 3072})
  for index in range(1, 6):
    data, labels = _batch(rng, PER_BATCH)
    _dump(os.path.join(folder, f"data_batch_{index}"),
          {b"batch_label": f"training batch {index} of 5".encode(), b"data": data,
           b"labels": labels})
  data, labels = _batch(rng, 100)
  _dump(os.path.join(folder, "test_batch"),
        {b"batch_label": b"testing batch 1 of 1", b"data": data, b"labels": labels})
  return data_dir


def write_fake_cifar100(data_dir, train=1000, test=100):
  """Writes data_dir/cifar100/cifar-100-python (random images, fine labels cycling
  0..99, coarse labels fine // 5); returns data_dir."""
  folder = os.path.join(data_dir, "cifar100", "cifar-100-python")
  os.makedirs(folder, exist_ok=True)
  rng = np.random.default_rng(0)
  _dump(os.path.join(folder, "meta"),
        {b"fine_label_names": [f"fine{i}".encode() for i in range(100)],
         b"coarse_label_names": [f"coarse{i}".encode() for i in range(20)]})
  for name, count in (("train", train), ("test", test)):
    fine = [int(v) for v in np.arange(count) % 100]
    _dump(os.path.join(folder, name),
          {b"batch_label": f"{name} batch".encode(), b"fine_labels": fine,
           b"coarse_labels": [v // 5 for v in fine],
           b"data": rng.integers(0, 256, (count, 3072), dtype=np.uint8)})
  return data_dir


def separating_reference(seed=0):
  """The reference network, small random weights, plus a path per class c from the red
  value of pixel (0, c) to logit c: it classifies the fake images perfectly."""
  model = build_reference_model(seed=seed)
  rng = np.random.default_rng(seed)
  weights = [rng.normal(0, 1e-3, w.shape).astype(np.float32) for w in model.get_weights()]
  for c in range(5):
    weights[0][3 * c, c] = 10.0
    weights[2][c, c] = 1.0
    weights[4][c, c] = 1.0
  model.set_weights(weights)
  return model
