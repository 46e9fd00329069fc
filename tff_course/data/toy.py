"""A small classification set, IID or heterogeneous across clients, for the from-scratch
FedAvg exercise (NumPy only, seconds to train).

Classes are Gaussian blobs around random centres in `num_features` dimensions. In the
IID set every client draws labels uniformly and inputs from the same blobs. In the
heterogeneous set each client draws its label mix from Dirichlet(0.5) and shifts its
inputs by its own offset ~ N(0, shift^2 I): label skew and covariate shift at once,
so local optima disagree and FedAvg's client drift becomes visible. Each client keeps
80 % of its examples for training and 20 % for testing.
"""

from __future__ import annotations

import numpy as np

from tff_course.data.dataset import Dataset, Modality, Split
from tff_course.errors import ConfigError

LABEL_CONCENTRATION = 0.5
TRAIN_FRACTION = 0.8


def toy_classification(*, heterogeneous: bool, num_clients: int = 10,
                       samples_per_client: int = 200, num_features: int = 10,
                       num_classes: int = 4, shift: float = 1.5,
                       seed: int = 0) -> Dataset:
  """Generates the toy set; see the module docstring for the two variants.

  Returns:
    A dataset whose splits carry each example's client in `client_ids`.
  """
  for name, value, minimum in (("num_clients", num_clients, 1),
                               ("samples_per_client", samples_per_client, 5),
                               ("num_features", num_features, 1),
                               ("num_classes", num_classes, 2)):
    if value < minimum:
      raise ConfigError(f"{name}: got {value}, expected at least {minimum}")
  rng = np.random.default_rng(seed)
  centres = rng.normal(0, 2.0, (num_classes, num_features))
  cut = int(TRAIN_FRACTION * samples_per_client)
  train, test = [], []
  for client in range(num_clients):
    if heterogeneous:
      mix = rng.dirichlet(np.full(num_classes, LABEL_CONCENTRATION))
      offset = rng.normal(0, shift, num_features)
    else:
      mix, offset = np.full(num_classes, 1 / num_classes), np.zeros(num_features)
    y = rng.choice(num_classes, size=samples_per_client, p=mix).astype(np.int64)
    x = (centres[y] + offset + rng.normal(0, 1, (samples_per_client, num_features)))
    ids = np.full(samples_per_client, client, dtype=np.int64)
    train.append((x[:cut].astype(np.float32), y[:cut], ids[:cut]))
    test.append((x[cut:].astype(np.float32), y[cut:], ids[cut:]))
  kind = "heterogeneous" if heterogeneous else "IID"
  return Dataset(name="toy_hetero" if heterogeneous else "toy_iid",
                 train=Split.concatenate(train), test=Split.concatenate(test),
                 label_names=tuple(str(c) for c in range(num_classes)),
                 modality=Modality.FEATURES, source=f"synthetic ({kind}, seed {seed})")
