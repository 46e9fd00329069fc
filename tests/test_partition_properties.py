"""One contract for every partitioner: disjoint clients, exact coverage, determinism."""

import numpy as np
import tensorflow as tf
from hypothesis import given, settings
from hypothesis import strategies as st

from tff_course.errors import ConfigError
from tff_course.partition import (dirichlet_partition, iid_sampler, n_class_partition,
                                  natural_partition, noniid_group_sampler,
                                  shard_partition, stratified_split)

SETTINGS = settings(max_examples=60, deadline=None)


@st.composite
def labels_strategy(draw, min_size=1, max_size=400, max_classes=12):
  num_classes = draw(st.integers(1, max_classes))
  size = draw(st.integers(min_size, max_size))
  seed = draw(st.integers(0, 2**16))
  return np.random.default_rng(seed).integers(0, num_classes, size)


def assert_disjoint_within(test, partition, num_examples):
  everything = np.concatenate([np.asarray(v) for v in partition.values()] or [[]])
  test.assertEqual(len(everything), len(np.unique(everything)), "clients overlap")
  if len(everything):
    test.assertGreaterEqual(everything.min(), 0)
    test.assertLess(everything.max(), num_examples)
  return everything


def assert_same_partition(test, first, second):
  test.assertEqual(list(first), list(second))
  for client in first:
    np.testing.assert_array_equal(first[client], second[client])


class IidTest(tf.test.TestCase):

  @SETTINGS
  @given(labels=labels_strategy(), num_clients=st.integers(1, 30),
         per_client=st.integers(1, 40), seed=st.integers(0, 100))
  def test_contract(self, labels, num_clients, per_client, seed):
    if num_clients * per_client > len(labels):
      with self.assertRaisesRegex(ConfigError, "samples_per_client"):
        iid_sampler(labels, num_clients, per_client, seed=seed)
      return
    partition = iid_sampler(labels, num_clients, per_client, seed=seed)
    covered = assert_disjoint_within(self, partition, len(labels))
    self.assertLen(partition, num_clients)
    self.assertEqual(partition.sizes().tolist(), [per_client] * num_clients)
    self.assertLen(covered, num_clients * per_client)
    assert_same_partition(self, partition, iid_sampler(labels, num_clients, per_client,
                                                       seed=seed))

  def test_default_divides_everything(self):
    partition = iid_sampler(np.zeros(1003, np.int64), 10)
    self.assertEqual(partition.sizes().tolist(), [100] * 10)

  def test_seed_changes_the_partition(self):
    labels = np.arange(1000) % 10
    self.assertNotAllEqual(iid_sampler(labels, 10, seed=0)[0], iid_sampler(labels, 10, seed=1)[0])


class ShardTest(tf.test.TestCase):

  @SETTINGS
  @given(labels=labels_strategy(), num_clients=st.integers(1, 40),
         shards=st.integers(1, 4), seed=st.integers(0, 100))
  def test_contract(self, labels, num_clients, shards, seed):
    num_shards = num_clients * shards
    if num_shards > len(labels):
      with self.assertRaisesRegex(ConfigError, "num_clients"):
        shard_partition(labels, num_clients, shards, seed=seed)
      return
    partition = shard_partition(labels, num_clients, shards, seed=seed)
    covered = assert_disjoint_within(self, partition, len(labels))
    shard_size = len(labels) // num_shards
    self.assertEqual(partition.sizes().tolist(), [shards * shard_size] * num_clients)
    self.assertLen(covered, num_shards * shard_size)
    assert_same_partition(self, partition, shard_partition(labels, num_clients, shards,
                                                           seed=seed))

  def test_mcmahan_setting_gives_at_most_two_classes_mostly(self):
    labels = np.repeat(np.arange(10), 6000)
    partition = shard_partition(labels, 100, 2, seed=0)
    classes = [len(np.unique(labels[idx])) for idx in partition.values()]
    self.assertEqual(partition.sizes().tolist(), [600] * 100)
    # 300-example shards of 6000-example classes never straddle two classes.
    self.assertLessEqual(max(classes), 2)


class NClassTest(tf.test.TestCase):

  @SETTINGS
  @given(num_classes=st.integers(1, 12), per_class=st.integers(40, 80),
         num_clients=st.integers(1, 30), data=st.data(), seed=st.integers(0, 100))
  def test_exact_classes_and_full_coverage(self, num_classes, per_class, num_clients,
                                           data, seed):
    labels = np.random.default_rng(seed).permutation(np.repeat(np.arange(num_classes),
                                                               per_class))
    nc = data.draw(st.integers(1, num_classes))
    partition = n_class_partition(labels, num_clients, nc, seed=seed)
    covered = assert_disjoint_within(self, partition, len(labels))
    for indices in partition.values():
      self.assertLen(np.unique(labels[indices]), nc)
    held = {int(c) for idx in partition.values() for c in np.unique(labels[idx])}
    expected = labels[np.isin(labels, list(held))]
    self.assertLen(covered, len(expected))
    if num_clients * nc >= num_classes:
      self.assertLen(covered, len(labels))
    assert_same_partition(self, partition, n_class_partition(labels, num_clients, nc,
                                                             seed=seed))

  @SETTINGS
  @given(num_clients=st.integers(1, 20), nc=st.integers(1, 5),
         per_client=st.integers(5, 20), seed=st.integers(0, 100))
  def test_samples_per_client(self, num_clients, nc, per_client, seed):
    labels = np.repeat(np.arange(5), 200)
    partition = n_class_partition(labels, num_clients, nc, per_client, seed=seed)
    assert_disjoint_within(self, partition, len(labels))
    self.assertEqual(partition.sizes().tolist(), [per_client] * num_clients)
    for indices in partition.values():
      self.assertLen(np.unique(labels[indices]), nc)

  def test_cifar100_shape_of_setting(self):
    labels = np.repeat(np.arange(100), 500)
    for nc in (1, 5, 10, 50):
      partition = n_class_partition(labels, 100, nc, seed=3)
      self.assertEqual({len(np.unique(labels[i])) for i in partition.values()}, {nc})
      self.assertEqual(partition.num_assigned, 50000)

  def test_infeasible_settings(self):
    labels = np.repeat(np.arange(3), 4)
    with self.assertRaisesRegex(ConfigError, "only 3 classes"):
      n_class_partition(labels, 2, 4)
    with self.assertRaisesRegex(ConfigError, "class .* has 4 examples but its"):
      n_class_partition(labels, 30, 1)
    with self.assertRaisesRegex(ConfigError, "at least one example for each of the 3"):
      n_class_partition(labels, 2, 3, samples_per_client=2)


class DirichletTest(tf.test.TestCase):

  @SETTINGS
  @given(labels=labels_strategy(min_size=50), num_clients=st.integers(1, 20),
         alpha=st.sampled_from([0.01, 0.1, 0.5, 1.0, 100.0]), seed=st.integers(0, 100))
  def test_contract(self, labels, num_clients, alpha, seed):
    partition = dirichlet_partition(labels, num_clients, alpha, min_size=0, seed=seed)
    covered = assert_disjoint_within(self, partition, len(labels))
    self.assertLen(partition, num_clients)
    self.assertLen(covered, len(labels))
    assert_same_partition(self, partition, dirichlet_partition(
        labels, num_clients, alpha, min_size=0, seed=seed))

  def test_min_size_is_met(self):
    labels = np.repeat(np.arange(10), 100)
    partition = dirichlet_partition(labels, 20, 0.5, min_size=10, seed=0)
    self.assertGreaterEqual(partition.sizes().min(), 10)

  def test_small_alpha_skews_and_large_alpha_does_not(self):
    labels = np.repeat(np.arange(10), 1000)
    skewed = dirichlet_partition(labels, 20, 0.05, min_size=0, seed=1)
    even = dirichlet_partition(labels, 20, 1000.0, seed=1)
    mean_classes = lambda p: np.mean([len(np.unique(labels[i])) for i in p.values() if len(i)])
    self.assertLess(mean_classes(skewed), 4)
    self.assertEqual(mean_classes(even), 10)

  def test_impossible_min_size(self):
    labels = np.repeat(np.arange(2), 50)
    with self.assertRaisesRegex(ConfigError, "no Dirichlet"):
      dirichlet_partition(labels, 50, 0.001, min_size=2, seed=0)
    with self.assertRaisesRegex(ConfigError, "alpha: got 0"):
      dirichlet_partition(labels, 5, 0)


class GroupTest(tf.test.TestCase):

  @SETTINGS
  @given(per_class=st.integers(10, 60), per_client=st.integers(1, 30), seed=st.integers(0, 99))
  def test_contract(self, per_class, per_client, seed):
    groups = {0: [0, 1, 2], 1: [3, 4, 5], 2: [6, 7, 8, 9]}
    labels = np.random.default_rng(seed).permutation(np.repeat(np.arange(10), per_class))
    partition = noniid_group_sampler(labels, per_client, groups, seed=seed)
    covered = assert_disjoint_within(self, partition, len(labels))
    for device, indices in partition.items():
      self.assertLen(indices, per_client)
      self.assertContainsSubset(set(labels[indices].tolist()),
                                set(groups[partition.groups[device]]))
    for group, classes in groups.items():
      devices = [d for d, g in partition.groups.items() if g == group]
      self.assertLen(devices, (per_class * len(classes)) // per_client)
    self.assertLen(covered, sum(len(i) for i in partition.values()))
    assert_same_partition(self, partition, noniid_group_sampler(labels, per_client, groups,
                                                                seed=seed))


class NaturalAndSplitTest(tf.test.TestCase):

  @SETTINGS
  @given(ids=st.lists(st.sampled_from(["ROMEO", "JULIET", "NURSE", "PARIS"]), min_size=1,
                      max_size=200))
  def test_natural_contract(self, ids):
    partition = natural_partition(np.array(ids))
    covered = assert_disjoint_within(self, partition, len(ids))
    self.assertLen(covered, len(ids))
    self.assertEqual(list(partition), list(dict.fromkeys(ids)))
    for client, indices in partition.items():
      self.assertEqual({ids[i] for i in indices}, {client})

  @SETTINGS
  @given(labels=labels_strategy(min_size=2), fraction=st.floats(0.05, 0.95),
         seed=st.integers(0, 100))
  def test_stratified_split(self, labels, fraction, seed):
    train, val = stratified_split(labels, fraction, seed=seed)
    self.assertEmpty(np.intersect1d(train, val))
    np.testing.assert_array_equal(np.sort(np.concatenate([train, val])),
                                  np.arange(len(labels)))
    counts = np.bincount(labels)
    np.testing.assert_array_equal(np.bincount(labels[val], minlength=len(counts)),
                                  np.rint(counts * fraction).astype(int))
    again = stratified_split(labels, fraction, seed=seed)
    np.testing.assert_array_equal(val, again[1])


if __name__ == "__main__":
  tf.test.main()
