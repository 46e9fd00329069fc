import collections
import dataclasses

import numpy as np
import tensorflow as tf
from hypothesis import given, settings
from hypothesis import strategies as st

from tff_course.data import Dataset, Modality, Split, load_dataset
from tff_course.errors import ConfigError
from tff_course.partition import iid_sampler, noniid_group_sampler
from tff_course.sampling import (create_device, create_devices, get_devices_for_round,
                                 get_devices_for_round_GROUP, get_devices_weighted,
                                 round_seed)


@dataclasses.dataclass(frozen=True)
class FakeDevice:
  id: int
  group: object = None


def fleet(groups):
  return [FakeDevice(i, g) for i, g in enumerate(groups)]


class RoundSelectionTest(tf.test.TestCase):

  @settings(max_examples=80, deadline=None)
  @given(n=st.integers(1, 300), pct=st.floats(0.001, 1.0), seed=st.integers(0, 2**31))
  def test_count_distinct_and_deterministic(self, n, pct, seed):
    devices = fleet([None] * n)
    chosen = get_devices_for_round(devices, pct, seed)
    self.assertLen(chosen, max(int(np.floor(pct * n + 1e-9)), 1))
    self.assertLen({d.id for d in chosen}, len(chosen))
    self.assertEqual(chosen, get_devices_for_round(devices, pct, seed))

  def test_fractions_that_float_arithmetic_would_round_down(self):
    devices = fleet([None] * 100)
    self.assertLen(get_devices_for_round(devices, 0.29, 0), 29)
    self.assertLen(get_devices_for_round(devices, 0.1, 0), 10)
    self.assertLen(get_devices_for_round(devices, 0.001, 0), 1)

  def test_uniform_over_many_rounds(self):
    devices = fleet([None] * 20)
    hits = collections.Counter(
        d.id for r in range(2000) for d in get_devices_for_round(devices, 0.25, round_seed(7, r)))
    frequencies = np.array([hits[i] for i in range(20)]) / 2000
    self.assertAllClose(frequencies, np.full(20, 0.25), atol=0.04)

  def test_round_seeds_differ_and_repeat(self):
    self.assertEqual(round_seed(3, 5), round_seed(3, 5))
    self.assertLen({round_seed(3, r) for r in range(100)}, 100)
    self.assertNotEqual(round_seed(3, 5), round_seed(4, 5))

  def test_bad_fraction_and_empty_fleet(self):
    devices = fleet([None] * 10)
    for pct in (0, -0.1, 1.01, float("nan")):
      with self.subTest(pct=pct), self.assertRaisesRegex(
          ConfigError, r"device_pct: got .*, expected a fraction in \(0, 1\]"):
        get_devices_for_round(devices, pct, 0)
    with self.assertRaisesRegex(ConfigError, "no devices"):
      get_devices_for_round([], 0.5, 0)


class GroupSelectionTest(tf.test.TestCase):

  def setUp(self):
    super().setUp()
    self.devices = fleet([0] * 30 + [1] * 20 + [2] * 10)

  def test_fair_takes_the_same_number_from_every_group(self):
    chosen = get_devices_for_round_GROUP(self.devices, 3, seed=1)
    self.assertEqual(collections.Counter(d.group for d in chosen), {0: 3, 1: 3, 2: 3})

  def test_unfair_takes_the_numbers_given(self):
    chosen = get_devices_for_round_GROUP(self.devices, {0: 10, 1: 2, 2: 1}, seed=1)
    self.assertEqual(collections.Counter(d.group for d in chosen), {0: 10, 1: 2, 2: 1})
    self.assertEqual(chosen, get_devices_for_round_GROUP(self.devices, {0: 10, 1: 2, 2: 1}, 1))
    self.assertNotEqual(chosen, get_devices_for_round_GROUP(self.devices, {0: 10, 1: 2, 2: 1}, 2))

  def test_errors(self):
    with self.assertRaisesRegex(ConfigError, "asked 11 devices of group 2, which has 10"):
      get_devices_for_round_GROUP(self.devices, 11, seed=0)
    with self.assertRaisesRegex(ConfigError, "group 7 has no devices"):
      get_devices_for_round_GROUP(self.devices, {7: 1}, seed=0)
    with self.assertRaisesRegex(ConfigError, "got -1 for group 0"):
      get_devices_for_round_GROUP(self.devices, {0: -1}, seed=0)
    with self.assertRaisesRegex(ConfigError, r"\{0: 1, 1: 1\}, which leaves out group 2; "
                                             r"give every group a count \(0 to leave"):
      get_devices_for_round_GROUP(self.devices, {0: 1, 1: 1}, seed=0)
    with self.assertRaisesRegex(ConfigError, "has no group"):
      get_devices_for_round_GROUP(fleet([None, 1]), 1, seed=0)
    with self.assertRaisesRegex(ConfigError, "asked for no devices"):
      get_devices_for_round_GROUP(self.devices, 0, seed=0)


class WeightedSelectionTest(tf.test.TestCase):

  def test_frequencies_follow_the_weights(self):
    devices = fleet([None] * 4)
    weights = [0.7, 0.2, 0.1, 0.0]
    hits = collections.Counter(d.id for s in range(4000)
                               for d in get_devices_weighted(devices, 1, weights, s))
    self.assertAllClose([hits[i] / 4000 for i in range(4)], weights, atol=0.03)

  def test_without_replacement_and_zero_weights_never_chosen(self):
    devices = fleet([None] * 5)
    for seed in range(50):
      chosen = get_devices_weighted(devices, 3, [1, 1, 0, 1, 5], seed)
      self.assertEqual(len({d.id for d in chosen}), 3)
      self.assertNotIn(2, [d.id for d in chosen])

  def test_errors(self):
    devices = fleet([None] * 3)
    with self.assertRaisesRegex(ConfigError, r"expected one per device \(3,\)"):
      get_devices_weighted(devices, 1, [1, 1], 0)
    with self.assertRaisesRegex(ConfigError, "non-negative weights"):
      get_devices_weighted(devices, 1, [1, -1, 1], 0)
    with self.assertRaisesRegex(ConfigError, "non-negative weights"):
      get_devices_weighted(devices, 1, [0, 0, 0], 0)
    with self.assertRaisesRegex(ConfigError, "num_devices: got 3, expected 1 to 2"):
      get_devices_weighted(devices, 3, [1, 1, 0], 0)


class DeviceTest(tf.test.TestCase):

  def test_pipeline_matches_numpy(self):
    dataset = load_dataset("toy_iid", num_clients=2, samples_per_client=50)
    indices = np.array([3, 7, 11, 12])
    device = create_device("a", dataset, indices, batch_size=3, shuffle_seed=None)
    batches = list(device.dataset.as_numpy_iterator())
    self.assertEqual([len(y) for _, y in batches], [3, 1])
    x = np.concatenate([b[0] for b in batches])
    y = np.concatenate([b[1] for b in batches])
    self.assertAllClose(x, dataset.train.x[indices])
    self.assertAllEqual(y, dataset.train.y[indices])
    self.assertEqual(device.num_examples, 4)

  def test_images_are_scaled_and_full_batch(self):
    x = np.arange(2 * 2 * 2, dtype=np.uint8).reshape(2, 2, 2, 1) * 30
    split = Split(x=x, y=np.array([0, 1]))
    images = Dataset(name="tiny", train=split, test=split, label_names=("a", "b"),
                     modality=Modality.IMAGE, source="test")
    device = create_device(0, images, [0, 1], batch_size=None, shuffle_seed=None)
    (inputs, labels), = list(device.dataset.as_numpy_iterator())
    self.assertEqual(inputs.dtype, np.float32)
    self.assertAllClose(inputs, x.astype(np.float32) / 255.0)
    self.assertAllEqual(labels, [0, 1])

  def test_create_devices_from_group_partition(self):
    dataset = load_dataset("toy_iid", num_clients=10, samples_per_client=100)
    partition = noniid_group_sampler(dataset, 40, {0: [0, 1], 1: [2, 3]})
    devices = create_devices(dataset, partition, batch_size=8)
    self.assertLen(devices, len(partition))
    self.assertEqual({d.group for d in devices}, {0, 1})
    chosen = get_devices_for_round_GROUP(devices, 2, seed=0)
    self.assertLen(chosen, 4)

  def test_shuffle_is_seeded(self):
    dataset = load_dataset("toy_iid", num_clients=2, samples_per_client=100)
    partition = iid_sampler(dataset, 2)
    first = [create_devices(dataset, partition, batch_size=160, seed=s)[0] for s in (0, 0, 1)]
    labels = [next(iter(d.dataset.as_numpy_iterator()))[1] for d in first]
    self.assertAllEqual(labels[0], labels[1])
    self.assertNotAllEqual(labels[0], labels[2])
    self.assertAllEqual(np.sort(labels[0]), np.sort(labels[2]))

  def test_bad_device_inputs(self):
    dataset = load_dataset("toy_iid", num_clients=2, samples_per_client=50)
    with self.assertRaisesRegex(ConfigError, "device 'a' has no examples"):
      create_device("a", dataset, [])
    with self.assertRaisesRegex(ConfigError, r"indices from 0 to 500, expected 0 to 79"):
      create_device("a", dataset, [0, 500])
    with self.assertRaisesRegex(ConfigError, "batch_size: got 0"):
      create_device("a", dataset, [0], batch_size=0)
    with self.assertRaisesRegex(ConfigError, "split: got 'dev'"):
      create_device("a", dataset, [0], split="dev")


if __name__ == "__main__":
  tf.test.main()
