import json
import os

import numpy as np
import tensorflow as tf

from tff_course.data import Split, load_dataset
from tff_course.errors import ConfigError
from tff_course.partition import (Partition, cifar_noniid_group_test, make_partition,
                                  noniid_group_sampler, parse_groups, plot_heatmap,
                                  summarize, validate_groups)


class SummaryTest(tf.test.TestCase):

  def test_counts_match_a_plain_loop(self):
    labels = np.random.default_rng(0).integers(0, 4, 300)
    partition = make_partition("dirichlet", labels, num_clients=7, alpha=0.3, seed=2)
    summary = summarize(partition, labels)
    for row, indices in enumerate(partition.values()):
      expected = [int(np.sum(labels[indices] == c)) for c in range(4)]
      self.assertEqual(summary.counts[row].tolist(), expected)
    self.assertEqual(summary.sizes.sum(), 300)
    info = summary.to_dict()
    self.assertEqual(info["clients"], 7)
    self.assertEqual(info["examples_assigned"], 300)
    self.assertEqual(info["classes_per_client"]["max"], int(summary.classes_per_client.max()))
    json.dumps(info)

  def test_format_names_the_partition_and_groups(self):
    labels = np.repeat(np.arange(6), 20)
    partition = noniid_group_sampler(labels, 10, {0: [0, 1], 1: [2, 3, 4, 5]})
    text = summarize(partition, labels, ["a", "b", "c", "d", "e", "f"]).format()
    self.assertIn("group non-IID: 12 clients, 120 of 120 examples assigned", text)
    self.assertIn("group 0: 4 clients, 40 examples, classes [0, 1]", text)
    self.assertIn("group 1: 8 clients, 80 examples, classes [2, 3, 4, 5]", text)

  def test_empty_clients_are_reported(self):
    partition = Partition({0: [0, 1], 1: []}, name="hand", num_examples=3)
    summary = summarize(partition, np.array([0, 1, 1]))
    self.assertEqual(summary.to_dict()["empty_clients"], 1)
    self.assertIn("1 empty clients", summary.format())
    self.assertEqual(summary.to_dict()["examples_in_split"], 3)

  def test_heatmap_is_a_png_and_leaves_no_temp_file(self):
    labels = np.random.default_rng(1).integers(0, 10, 5000)
    out = self.create_tempdir().full_path
    for clients in (12, 400):
      partition = make_partition("dirichlet", labels, num_clients=clients, alpha=0.5,
                                 min_size=0)
      path = plot_heatmap(summarize(partition, labels), os.path.join(out, f"h{clients}.png"),
                          title="test")
      with open(path, "rb") as stream:
        self.assertEqual(stream.read(8), b"\x89PNG\r\n\x1a\n")
    self.assertCountEqual(os.listdir(out), ["h12.png", "h400.png"])


class GroupInputTest(tf.test.TestCase):

  def test_parse_groups(self):
    self.assertEqual(parse_groups("0,1,2;3,4,5;6,7,8,9"),
                     {0: [0, 1, 2], 1: [3, 4, 5], 2: [6, 7, 8, 9]})
    with self.assertRaisesRegex(ConfigError, "groups: got '0,a'"):
      parse_groups("0,a")

  def test_overlap_missing_and_empty_groups_are_errors(self):
    labels = np.arange(10)
    with self.assertRaisesRegex(ConfigError, "class 2 is in group 0 and in group 1"):
      validate_groups({0: [0, 1, 2], 1: [2, 3, 4, 5, 6, 7, 8, 9]}, labels)
    with self.assertRaisesRegex(ConfigError, r"classes \[8, 9\] of the data belong to no"):
      validate_groups({0: [0, 1, 2], 1: [3, 4, 5, 6, 7]}, labels)
    with self.assertRaisesRegex(ConfigError, "group 1 has no classes"):
      validate_groups({0: list(range(10)), 1: []}, labels)
    with self.assertRaisesRegex(ConfigError, "got no groups"):
      validate_groups({}, labels)

  def test_group_too_small_for_one_device(self):
    labels = np.array([0] * 50 + [1] * 3)
    with self.assertRaisesRegex(ConfigError, r"group 1 \(classes \[1\]\) has 3 examples"):
      noniid_group_sampler(labels, 10, {0: [0], 1: [1]})

  def test_group_test_split(self):
    labels = np.array([0, 1, 2, 3, 0, 3])
    split = cifar_noniid_group_test(labels, {0: [0, 1], 1: [2, 3]})
    self.assertEqual(split[0].tolist(), [0, 1, 4])
    self.assertEqual(split[1].tolist(), [2, 3, 5])
    self.assertEqual(split.groups, {0: 0, 1: 1})

  def test_group_test_takes_the_test_split_of_a_dataset(self):
    dataset = load_dataset("toy_iid", num_clients=3, samples_per_client=50)
    split = cifar_noniid_group_test(dataset, {0: [0, 1], 1: [2, 3]})
    self.assertEqual(split.num_examples, len(dataset.test))


class BadInputTest(tf.test.TestCase):

  def test_messages_name_the_input(self):
    labels = np.arange(100) % 10
    cases = [
        (lambda: make_partition("iid", labels, num_clients=0), "num_clients: got 0"),
        (lambda: make_partition("iid", labels, num_clients=2.5), "num_clients: got 2.5"),
        (lambda: make_partition("iid", labels, num_clients=11, samples_per_client=10),
         r"11 clients x 10 examples = 110, but the split holds 100"),
        (lambda: make_partition("shards", labels, num_clients=60), "need at least 120"),
        (lambda: make_partition("dirichlet", labels, num_clients=5), "alpha is required"),
        (lambda: make_partition("classes", labels, num_clients=5),
         "classes_per_client is required"),
        (lambda: make_partition("groups", labels), "samples_per_client is required"),
        (lambda: make_partition("natural", labels), "natural partition: got a label array"),
        (lambda: make_partition("natural", Split(x=np.zeros((100, 1)), y=labels)),
         "no natural clients"),
        (lambda: make_partition("zipf", labels), "partition: got 'zipf', expected one of"),
        (lambda: make_partition("iid", labels.astype(float), num_clients=2),
         "labels: expected a 1-D integer array"),
        (lambda: make_partition("iid", -labels - 1, num_clients=2), "negative label"),
    ]
    for call, message in cases:
      with self.subTest(message), self.assertRaisesRegex(ConfigError, message):
        call()


if __name__ == "__main__":
  tf.test.main()
