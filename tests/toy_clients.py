"""Five toy clients, as TFF datasets in stored order and as NumPy arrays, for testing
client-state algorithms (SCAFFOLD, Ditto) against their NumPy references."""

import numpy as np

from tff_course.data import load_dataset
from tff_course.partition import natural_partition
from tff_course.sampling import create_device

CLIENTS = 5
BATCH = 8
ROUNDS_CLIENTS = ((0, 1, 2), (2, 3, 4), (0, 2, 4))


def toy_clients():
  """(datasets, arrays): per client a batched tf.data dataset and its (x, y) in float64."""
  toy = load_dataset("toy_hetero", num_clients=CLIENTS, samples_per_client=40)
  partition = natural_partition(toy)
  ids = sorted(partition)
  data = [create_device(c, toy, partition[c], batch_size=BATCH, shuffle_seed=None).dataset
          for c in ids]
  arrays = [(toy.train.x[partition[c]].astype(np.float64), toy.train.y[partition[c]])
            for c in ids]
  return data, arrays
