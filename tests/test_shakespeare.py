import math
import os

import numpy as np
import tensorflow as tf

from tests.shared_data import requires_data, shared_data_dir
from tff_course.data import load_dataset
from tff_course.data.dataset import Modality
from tff_course.data.shakespeare import (OOV_LABEL, VOCABULARY, build_shakespeare, encode,
                                         read_play, split_roles)
from tff_course.errors import ConfigError, DataError

# A small play in Tiny Shakespeare's layout, with blocks that are not speeches: a title,
# a stage direction, a speaker with nothing to say, and extra blank lines (one holding
# spaces) between blocks.
PLAY = """THE TRAGEDY OF TESTING

FIRST CITIZEN:
Before we proceed,
hear me speak.

ALL:
Speak, speak.


Exeunt all but the Ghost

GHOST:

FIRST CITIZEN:
You are all resolved.
  \t
Lady Capulet:
Nurse, where's my daughter?
"""

ROLES = {
    "FIRST CITIZEN": "Before we proceed,\nhear me speak.\nYou are all resolved.",
    "ALL": "Speak, speak.",
    "Lady Capulet": "Nurse, where's my daughter?",
}


def _decode(codes):
  return "".join(VOCABULARY[c] if c < len(VOCABULARY) else "\ufffd" for c in codes)


def _reference_windows(spoken, length, fraction, stride=1):
  """Pure-Python (window, next character) pairs of one role's train and test parts."""
  cut = int(len(spoken) * fraction)
  pairs = []
  for part in (spoken[:cut], spoken[cut:]):
    pairs.append([(part[i:i + length], part[i + length])
                  for i in range(0, len(part) - length, stride)])
  return pairs


def _play(roles):
  return "\n\n".join(f"{role}:\n{spoken}" for role, spoken in roles.items()) + "\n"


class SplitRolesTest(tf.test.TestCase):

  def test_roles_and_joined_speeches(self):
    roles = split_roles(PLAY)
    self.assertEqual(roles, ROLES)
    self.assertEqual(list(roles), ["FIRST CITIZEN", "ALL", "Lady Capulet"])

  def test_text_without_speeches(self):
    for text in ("", "Just prose.\nNo speaker here.\n\nNor here.\n", "GHOST:\n\nNURSE:\n"):
      with self.assertRaisesRegex(DataError, r"sonnets\.txt: no speeches found"):
        split_roles(text, where="sonnets.txt")


class EncodeTest(tf.test.TestCase):

  def test_known_codes(self):
    self.assertLen(VOCABULARY, 80)
    codes = encode("\n !Aa}z9:")
    self.assertEqual(codes.tolist(), [0, 1, 2, 25, 53, 79, 78, 20, 21])
    self.assertEqual(_decode(encode("Before we proceed, hear me.")),
                     "Before we proceed, hear me.")

  def test_every_vocabulary_character_has_its_index(self):
    self.assertEqual(encode(VOCABULARY).tolist(), list(range(80)))

  def test_out_of_vocabulary_characters(self):
    codes = encode("a\u00e9#\t\r\u20ac\U0001F600b")
    self.assertEqual(codes.tolist(), [53, 80, 80, 80, 80, 80, 80, 54])
    self.assertEqual(encode("").shape, (0,))


class BuildShakespeareTest(tf.test.TestCase):

  def setUp(self):
    super().setUp()
    self.roles = {"ALICE": "hello there, bob.\nhow are you today?",  # 36 characters
                  "BOB": "fine, thanks! and you?",  # 22 characters
                  "EVE": "hi"}
    self.text = _play(self.roles)

  def _check_against_reference(self, split, expected, length):
    self.assertEqual(split.x.shape, (len(expected), length))
    self.assertEqual(split.x.dtype, np.uint8)
    self.assertEqual(split.y.dtype, np.int64)
    self.assertEqual([(_decode(row), VOCABULARY[label]) for row, label in zip(split.x, split.y)],
                     [(window, following) for _, window, following in expected])
    self.assertEqual(split.client_ids.tolist(), [role for role, _, _ in expected])

  def test_windows_and_temporal_split_match_a_reference(self):
    for length, fraction, stride in ((5, 0.5, 1), (7, 0.7, 1), (4, 0.5, 3)):
      dataset = build_shakespeare(self.text, source="play.txt", sequence_length=length,
                                  train_fraction=fraction, stride=stride)
      expected = {"train": [], "test": []}
      for role in ("ALICE", "BOB"):
        train, test = _reference_windows(self.roles[role], length, fraction, stride)
        expected["train"] += [(role, window, following) for window, following in train]
        expected["test"] += [(role, window, following) for window, following in test]
      self._check_against_reference(dataset.train, expected["train"], length)
      self._check_against_reference(dataset.test, expected["test"], length)

  def test_known_windows(self):
    dataset = build_shakespeare(self.text, source="play.txt", sequence_length=5,
                                train_fraction=0.5)
    # ALICE's first 18 characters train, the other 18 test: 13 windows each.
    self.assertEqual(_decode(dataset.train.x[0]), "hello")
    self.assertEqual(VOCABULARY[dataset.train.y[0]], " ")
    self.assertEqual(_decode(dataset.train.x[12]), " bob.")
    self.assertEqual(VOCABULARY[dataset.train.y[12]], "\n")
    self.assertEqual(_decode(dataset.test.x[0]), "how a")
    self.assertEqual(VOCABULARY[dataset.test.y[0]], "r")
    self.assertEqual(dataset.train.client_ids.tolist(), ["ALICE"] * 13 + ["BOB"] * 6)
    self.assertEqual(dataset.test.client_ids.tolist(), ["ALICE"] * 13 + ["BOB"] * 6)

  def test_record(self):
    dataset = build_shakespeare(self.text, source="play.txt", sequence_length=5)
    self.assertEqual(dataset.name, "shakespeare")
    self.assertEqual(dataset.source, "play.txt")
    self.assertIs(dataset.modality, Modality.TEXT)
    self.assertEqual(dataset.num_classes, 81)
    self.assertEqual(dataset.label_names[-1], OOV_LABEL)
    self.assertEqual("".join(dataset.label_names[:-1]), VOCABULARY)

  def test_roles_too_short_are_dropped_and_reported(self):
    dataset = build_shakespeare(self.text, source="play.txt", sequence_length=5,
                                train_fraction=0.5)
    self.assertNotIn("EVE", set(dataset.train.client_ids.tolist()))
    self.assertEqual(tuple(dataset.notes),
                     ("2 of 3 roles kept as clients; 1 say too little for one "
                      "5-character window",))
    # A window needs one character more than its length in the training part.
    dataset = build_shakespeare(_play({"A": "abcdefgh", "B": "abcdefghij"}), source="p",
                                sequence_length=4, train_fraction=0.5)
    self.assertEqual(dataset.train.client_ids.tolist(), ["B"])
    self.assertIn("1 of 2 roles kept", dataset.notes[0])

  def test_no_role_long_enough(self):
    with self.assertRaisesRegex(DataError, r"play\.txt: no role says more than 80 characters"):
      build_shakespeare(self.text, source="play.txt")

  def test_role_with_training_but_no_test_windows(self):
    dataset = build_shakespeare(_play({"A": "abcdefghij", "B": "0123456789" * 4}),
                                source="p", sequence_length=6, train_fraction=0.8)
    # A: 8 training characters give 2 windows, its 2 test characters none; B: 32 and 8.
    self.assertEqual(dataset.train.client_ids.tolist(), ["A"] * 2 + ["B"] * 26)
    self.assertEqual(dataset.test.client_ids.tolist(), ["B"] * 2)
    self.assertEqual(_decode(dataset.test.x[1]), "345678")

  def test_empty_test_split_has_the_window_width(self):
    dataset = build_shakespeare(_play({"A": "abcdefghij"}), source="p", sequence_length=6,
                                train_fraction=0.8)
    self.assertLen(dataset.train, 2)
    self.assertLen(dataset.test, 0)
    self.assertEqual(dataset.test.x.shape, (0, 6))
    self.assertEqual(dataset.test.x.dtype, dataset.train.x.dtype)

  def test_limit(self):
    full = build_shakespeare(self.text, source="p", sequence_length=5, train_fraction=0.5)
    dataset = build_shakespeare(self.text, source="p", sequence_length=5, train_fraction=0.5,
                                limit=3)
    self.assertLen(dataset.train, 3)
    self.assertLen(dataset.test, 3)
    np.testing.assert_array_equal(dataset.train.x, full.train.x[:3])
    np.testing.assert_array_equal(dataset.test.y, full.test.y[:3])
    self.assertEqual(dataset.train.client_ids.tolist(), ["ALICE"] * 3)
    self.assertLen(build_shakespeare(self.text, source="p", sequence_length=5,
                                     train_fraction=0.5, limit=1000).train, len(full.train))

  def test_train_fraction_outside_the_open_unit_interval(self):
    for fraction in (0, 1, 1.5, -0.2, math.nan):
      with self.assertRaisesRegex(DataError, rf"train_fraction: got {fraction}, expected a "
                                  r"value in \(0, 1\)"):
        build_shakespeare(self.text, source="p", sequence_length=5, train_fraction=fraction)

  def test_zero_stride_is_a_clear_error(self):
    with self.assertRaisesRegex((ConfigError, DataError), "stride"):
      build_shakespeare(self.text, source="p", sequence_length=5, stride=0)

  def test_zero_sequence_length_is_a_clear_error(self):
    with self.assertRaisesRegex((ConfigError, DataError), "sequence_length"):
      build_shakespeare(self.text, source="p", sequence_length=0)


class ReadPlayTest(tf.test.TestCase):

  def test_reads_utf8(self):
    path = os.path.join(self.create_tempdir().full_path, "input.txt")
    with open(path, "w", encoding="utf-8") as stream:
      stream.write(PLAY)
    self.assertEqual(read_play(path), PLAY)

  def test_missing_file(self):
    with self.assertRaisesRegex(DataError, r"nothing\.txt: file not found"):
      read_play(os.path.join(self.create_tempdir().full_path, "nothing.txt"))

  def test_non_utf8_file_through_the_registry(self):
    data_dir = self.create_tempdir().full_path
    os.makedirs(os.path.join(data_dir, "tinyshakespeare"))
    with open(os.path.join(data_dir, "tinyshakespeare", "input.txt"), "wb") as stream:
      stream.write("FIRST CITIZEN:\nCaf\u00e9 au lait, good sirs.\n".encode("latin-1"))
    with self.assertRaisesRegex(DataError, r"input\.txt: not UTF-8 text"):
      load_dataset("shakespeare", data_dir=data_dir)

  def test_small_play_through_the_registry(self):
    data_dir = self.create_tempdir().full_path
    os.makedirs(os.path.join(data_dir, "shakespeare"))
    path = os.path.join(data_dir, "shakespeare", "input.txt")
    with open(path, "w", encoding="utf-8") as stream:
      stream.write(PLAY)
    dataset = load_dataset("shakespeare", data_dir=data_dir, sequence_length=6)
    self.assertEqual(dataset.source, path)
    self.assertEqual(set(dataset.train.client_ids.tolist()),
                     {"FIRST CITIZEN", "ALL", "Lady Capulet"})
    self.assertEqual(_decode(dataset.train.x[0]), "Before")
    self.assertEqual(VOCABULARY[dataset.train.y[0]], " ")


class RealTinyShakespeareTest(tf.test.TestCase):

  @requires_data("tinyshakespeare", "input.txt")
  def test_first_window_and_roles(self):
    dataset = load_dataset("shakespeare", data_dir=shared_data_dir())
    self.assertEqual(dataset.train.x.shape[1:], (80,))
    # The play opens with the First Citizen: "Before we proceed any further, hear me
    # speak." and, two speeches later, "You are all resolved rather to die ...".
    self.assertEqual(_decode(dataset.train.x[0]),
                     "Before we proceed any further, hear me speak.\n"
                     "You are all resolved rather to die")
    self.assertEqual(VOCABULARY[dataset.train.y[0]], " ")
    self.assertEqual(_decode(dataset.train.x[1])[-3:], "ie ")
    self.assertEqual(VOCABULARY[dataset.train.y[1]], "t")
    self.assertEqual(dataset.train.client_ids[0], "First Citizen")
    roles = set(dataset.train.client_ids.tolist())
    self.assertContainsSubset({"First Citizen", "MENENIUS", "ROMEO", "JULIET",
                               "KING RICHARD III"}, roles)
    self.assertGreater(len(roles), 100)
    self.assertContainsSubset(set(dataset.test.client_ids.tolist()), roles)
    kept = int(dataset.notes[0].split(" of ")[0])
    self.assertEqual(kept, len(roles))
    # Each role's text is split 80/20 in time, so about a fifth of the windows are test.
    share = len(dataset.test) / (len(dataset.train) + len(dataset.test))
    self.assertBetween(share, 0.15, 0.25)
    # Tiny Shakespeare is plain ASCII within LEAF's alphabet, apart from none or very few.
    self.assertLess(np.mean(dataset.train.y == len(VOCABULARY)), 1e-4)

  @requires_data("tinyshakespeare", "input.txt")
  def test_limit(self):
    dataset = load_dataset("tiny_shakespeare", data_dir=shared_data_dir(), limit=50)
    self.assertLen(dataset.train, 50)
    self.assertLen(dataset.test, 50)
    self.assertEqual(set(dataset.train.client_ids.tolist()), {"First Citizen"})
    self.assertTrue(_decode(dataset.train.x[0]).startswith("Before we proceed any further"))


if __name__ == "__main__":
  tf.test.main()
