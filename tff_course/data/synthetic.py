"""FedProx's Synthetic(alpha, beta) federated classification data, and its IID variant.

Li et al., "Federated Optimization in Heterogeneous Networks" (MLSys 2020), section 5.1.
On device k: y = argmax(softmax(W_k x + b_k)) with x in R^60 and 10 classes;
u_k ~ N(0, alpha), W_k and b_k ~ N(u_k, 1) (alpha: how much the local models differ);
B_k ~ N(0, beta), v_k ~ N(B_k, 1), x ~ N(v_k, Sigma) with Sigma diagonal,
Sigma_jj = j^-1.2 (beta: how much the local inputs differ). Device sizes follow a
log-normal law (lognormal(4, 2) + 50, as in the authors' generator). In the IID
variant every device shares one W, b ~ N(0, 1) and x ~ N(0, Sigma). Each device keeps
90 % of its examples for training and 10 % for testing.
"""

from __future__ import annotations

import numpy as np

from tff_course.data.dataset import Dataset, Modality, Split
from tff_course.errors import ConfigError

NUM_FEATURES = 60
NUM_CLASSES = 10
NUM_DEVICES = 30
TRAIN_FRACTION = 0.9


def fedprox_synthetic(alpha: float = 1.0, beta: float = 1.0, *, iid: bool = False,
                      num_devices: int = NUM_DEVICES, seed: int = 0) -> Dataset:
  """Generates Synthetic(alpha, beta), or Synthetic-IID when `iid` is true.

  Args:
    alpha: spread of the device models (ignored when `iid`).
    beta: spread of the device input means (ignored when `iid`).
    iid: one shared model and input distribution for all devices.
    num_devices: number of devices (clients); the paper uses 30.
    seed: the generator's seed; the same seed gives the same data.

  Returns:
    A dataset whose splits carry each example's device in `client_ids`.
  """
  for name, value in (("alpha", alpha), ("beta", beta)):
    if not value >= 0:
      raise ConfigError(f"{name}: got {value}, expected a number >= 0")
  if num_devices < 1:
    raise ConfigError(f"num_devices: got {num_devices}, expected at least 1")
  rng = np.random.default_rng(seed)
  sizes = rng.lognormal(4, 2, num_devices).astype(np.int64) + 50
  scale = np.arange(1, NUM_FEATURES + 1) ** -0.6  # sqrt of Sigma's diagonal
  shared = _device_model(rng, 0.0)
  train, test = [], []
  for device, size in enumerate(sizes):
    if iid:
      (weights, bias), mean = shared, np.zeros(NUM_FEATURES)
    else:
      weights, bias = _device_model(rng, rng.normal(0, np.sqrt(alpha)))
      mean = rng.normal(rng.normal(0, np.sqrt(beta)), 1, NUM_FEATURES)
    x = rng.normal(mean, scale, (size, NUM_FEATURES)).astype(np.float32)
    y = np.argmax(x @ weights + bias, axis=1).astype(np.int64)
    cut = int(TRAIN_FRACTION * size)
    ids = np.full(size, device, dtype=np.int64)
    train.append((x[:cut], y[:cut], ids[:cut]))
    test.append((x[cut:], y[cut:], ids[cut:]))
  name = "synthetic_iid" if iid else "synthetic"
  setting = "IID" if iid else f"alpha={alpha}, beta={beta}"
  return Dataset(name=name, train=Split.concatenate(train), test=Split.concatenate(test),
                 label_names=tuple(str(c) for c in range(NUM_CLASSES)),
                 modality=Modality.FEATURES, source=f"synthetic ({setting}, seed {seed})")


def _device_model(rng: np.random.Generator, center: float):
  weights = rng.normal(center, 1, (NUM_FEATURES, NUM_CLASSES))
  bias = rng.normal(center, 1, NUM_CLASSES)
  return weights, bias
