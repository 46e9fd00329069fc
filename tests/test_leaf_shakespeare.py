"""LEAF's Shakespeare: plays and characters split by LEAF's rules, LEAF's sampling, user
filter and splits, and the counts on the real 1994 Gutenberg text."""

import os
import random
import zipfile
from unittest import mock

import numpy as np
import tensorflow as tf

from tests.shared_data import requires_data, shared_data_dir
from tff_course.data import leaf_plays, leaf_shakespeare, leaf_users
from tff_course.data.registry import load_dataset
from tff_course.data.shakespeare import VOCABULARY
from tff_course.errors import ConfigError, DataError

SPEECH = "Now is the winter of our discontent made glorious summer by this sun of York"


def _edition(speech_lines: int = 2) -> str:
  """A text in the 1994 edition's layout: a header line, the sonnets, three plays (one
  with a single speaker) and the unindented Comedy of Errors."""
  more = [f"    {SPEECH} {i}." for i in range(speech_lines)]
  lines = [
      "The Project Gutenberg Etext of Shakespeare's First Folio",
      "THE SONNETS", "", "by William Shakespeare", "", "  1", "  From fairest creatures",
      "", "", "A PLAY", "", "by William Shakespeare", "", "ACT I. SCENE I.", "",
      "  Bob. Hello there,  my friend.", "    How are you?", *more,
      "  bob. Again.", "  Alice. Fine.", "    Thanks.", "        Deeper.", *more, "",
      "  Exit.", "      Indented after a blank line.", "  Carl. One.", "  Carl. Two.",
      "", "LONELY PLAY", "", "", "by William Shakespeare", "  Solo. Alone.",
      "    Still alone.", "    Always.",
      "THE COMEDY OF ERRORS", "", "by William Shakespeare",
      "ACT I. SCENE I. A hall.", "Duke. Proceed, Solinus.", "To procure my fall.", "",
      "<<THIS ELECTRONIC VERSION IS COPYRIGHT>>", "not spoken by anyone",
      "Egeon. Yet this my comfort.", *[line.strip() for line in more], "Come.",
  ]
  return "\n".join(lines) + "\n"


class PlaysTest(tf.test.TestCase):

  def test_characters_and_lines_follow_leafs_rules(self):
    plays = leaf_plays.split_into_plays(_edition(speech_lines=0))
    self.assertEqual([play.title for play in plays], ["A PLAY", "THE COMEDY OF ERRORS"])
    self.assertEqual(plays[0].lines, {
        "BOB": ["Hello there,  my friend.", "How are you?", "Again."],
        "ALICE": ["Fine.", "Thanks.", "    Deeper.", "  Indented after a blank line."],
        "CARL": ["One.", "Two."]})
    self.assertEqual(plays[1].lines, {
        "DUKE": ["Proceed, Solinus.", "To procure my fall.", ""],
        "EGEON": ["Yet this my comfort.", "Come."]})

  def test_users_need_three_lines_and_keep_every_characters_play(self):
    lines, play_of = leaf_plays.users_of(leaf_plays.split_into_plays(_edition(0)))
    self.assertEqual(sorted(lines), ["A_PLAY_ALICE", "A_PLAY_BOB",
                                     "THE_COMEDY_OF_ERRORS_DUKE"])
    self.assertEqual(play_of["A_PLAY_CARL"], "A PLAY")
    self.assertEqual(play_of["THE_COMEDY_OF_ERRORS_EGEON"], "THE COMEDY OF ERRORS")

  def test_user_names_are_leafs(self):
    self.assertEqual(leaf_plays.user_name("ALL'S WELL, THAT ENDS WELL", "FIRST LORD"),
                     "ALL_S_WELL__THAT_ENDS_WELL_FIRST_LORD")

  def test_the_plays_stop_at_the_last_play_line(self):
    text = _edition(0)
    stop = text.splitlines().index("THE COMEDY OF ERRORS") - 1 - 5
    with mock.patch.object(leaf_plays, "LAST_PLAY_LINE", stop):
      titles = [play.title for play in leaf_plays.split_into_plays(text)]
    self.assertEqual(titles, ["A PLAY"])

  def test_a_text_without_plays_gives_no_plays(self):
    self.assertEqual(leaf_plays.split_into_plays("header\nno plays here\n"), [])


class UserTextTest(tf.test.TestCase):

  def test_newlines_become_spaces_and_runs_of_spaces_one(self):
    self.assertEqual(leaf_users.user_text(["Hello there,  my friend.", "   Deeper.", ""]),
                     "Hello there, my friend. Deeper. ")

  def test_windows_are_every_80_characters_with_the_next_as_label(self):
    lines = {"A_X": ["a" * 50, "b" * 50]}
    users = leaf_users.all_users(lines, {"A_X": "A"})
    text = leaf_users.user_text(lines["A_X"])
    self.assertLen(text, 102)
    np.testing.assert_array_equal(users.windows[0], np.arange(22))
    self.assertEqual(users.plays, ("A",))

  def test_users_with_at_most_80_characters_have_no_windows_and_are_left_out(self):
    users = leaf_users.all_users({"B_Y": ["short"], "A_X": ["x" * 100]},
                                 {"B_Y": "B", "A_X": "A"})
    self.assertEqual(users.names, ("A_X",))


def _users(sizes):
  starts = np.cumsum([0] + list(sizes))
  return leaf_users.Users(
      names=tuple(f"u{i}" for i in range(len(sizes))), plays=tuple("p" for _ in sizes),
      windows=tuple(np.arange(a, b) for a, b in zip(starts[:-1], starts[1:])),
      codes=np.zeros(starts[-1] + 81, np.uint8))


def _leaf_natural_sample(sizes, fraction, seed):
  """LEAF's `sample.py` non-IID branch on lists: users shuffled, taken until the target,
  the last one cut to a permutation of its first windows."""
  rng = random.Random(seed)
  users = [(f"u{i}", list(range(sum(sizes[:i]), sum(sizes[:i + 1]))))
           for i in range(len(sizes))]
  target = int(fraction * sum(sizes))
  rng.shuffle(users)
  taken, total = [], 0
  for name, windows in users:
    if total >= target:
      break
    if total + len(windows) > target:
      count = target - total
      windows = [windows[i] for i in rng.sample(list(range(count)), count)]
    taken.append((name, windows))
    total += len(windows)
  return taken


class SamplingTest(tf.test.TestCase):

  def test_natural_sampling_matches_leafs_list_algorithm(self):
    sizes = [10, 20, 30, 40, 7, 13]
    for seed in range(5):
      sampled = leaf_users.sample_natural(_users(sizes), 0.55, seed)
      expected = _leaf_natural_sample(sizes, 0.55, seed)
      self.assertEqual(sampled.names, tuple(name for name, _ in expected))
      for own, (_, windows) in zip(sampled.windows, expected):
        self.assertEqual(own.tolist(), windows)
      self.assertEqual(int(sampled.num_samples.sum()), int(0.55 * sum(sizes)))

  def test_iid_sampling_deals_distinct_windows_to_near_equal_users(self):
    users = _users([50, 30, 20, 100])
    sampled = leaf_users.sample_iid(users, 0.5, 0.75, seed=3)
    self.assertEqual(sampled.names, ("0", "1", "2"))
    self.assertEqual(sampled.plays, (None, None, None))
    self.assertEqual(sampled.num_samples.tolist(), [33, 33, 34])
    chosen = np.concatenate(sampled.windows)
    self.assertLen(np.unique(chosen), 100)
    expected = random.Random(3).sample(range(200), 100)
    self.assertEqual(chosen.tolist(), expected)

  def test_min_samples_keeps_users_with_at_least_that_many(self):
    self.assertEqual(leaf_users.remove_small(_users([5, 64, 63, 100]), 64).names,
                     ("u1", "u3"))

  def test_split_by_sample_leaves_a_gap_of_79_windows_and_drops_short_users(self):
    train, test = leaf_users.split_by_sample(_users([1000, 850, 500, 2, 1]), 0.9)
    self.assertEqual(train.names, ("u0", "u1"))
    self.assertEqual(train.num_samples.tolist(), [900, 765])
    self.assertEqual(test.num_samples.tolist(), [21, 6])
    self.assertEqual(test.windows[0][0], 900 + 79)
    self.assertEqual(test.windows[1][0], 1000 + 765 + 79)

  def test_split_by_user_draws_whole_users(self):
    train, test = leaf_users.split_by_user(_users([5] * 10), 0.7, seed=1)
    self.assertLen(train.names, 7)
    self.assertEqual(sorted(train.names + test.names), sorted(f"u{i}" for i in range(10)))
    chosen = set(random.Random(1).sample(range(10), 7))
    self.assertEqual(train.names, tuple(f"u{i}" for i in sorted(chosen)))


class BuildTest(tf.test.TestCase):

  def test_the_dataset_holds_each_users_windows_and_next_characters(self):
    dataset = leaf_shakespeare.build_leaf_shakespeare(
        _edition(speech_lines=12), leaf_shakespeare.LeafOptions(), source="edition")
    users = set(dataset.train.client_ids)
    self.assertEqual(users, {"A_PLAY_BOB", "A_PLAY_ALICE", "THE_COMEDY_OF_ERRORS_EGEON"})
    self.assertEqual(dataset.num_classes, len(VOCABULARY) + 1)
    spoken = leaf_users.user_text(["Hello there,  my friend.", "How are you?"] +
                                  [f"{SPEECH} {i}." for i in range(12)] + ["Again."])
    rows = dataset.train.client_ids == "A_PLAY_BOB"
    self.assertEqual("".join(VOCABULARY[c] for c in dataset.train.x[rows][0]), spoken[:80])
    self.assertEqual("".join(VOCABULARY[c] for c in dataset.train.y[rows]),
                     spoken[80:80 + int(rows.sum())])
    self.assertIn("3 train users", dataset.notes[1])

  def test_test_windows_draws_a_fixed_subset_of_the_test_windows(self):
    text = _edition(speech_lines=40)
    whole = leaf_shakespeare.build_leaf_shakespeare(text, source="edition")
    options = leaf_shakespeare.LeafOptions(test_windows=50, split_seed=3)
    first, again = (leaf_shakespeare.build_leaf_shakespeare(text, options, source="edition")
                    for _ in range(2))
    self.assertLen(first.test, 50)
    self.assertAllEqual(first.test.x, again.test.x)
    self.assertEqual(len(first.train), len(whole.train))
    expected = whole.test.sample(50, seed=3)
    self.assertAllEqual(first.test.x, expected.x)
    self.assertAllEqual(first.test.y, expected.y)
    self.assertAllEqual(first.test.client_ids, expected.client_ids)
    self.assertIn("evaluated on 50 of the", first.notes[-1])

  def test_options_that_leave_no_user_are_one_line(self):
    with self.assertRaisesRegex(DataError, r"^edition: no user is left after .* lower "
                                           r"min_samples$"):
      leaf_shakespeare.build_leaf_shakespeare(
          _edition(12), leaf_shakespeare.LeafOptions(min_samples=10**6), source="edition")

  def test_bad_options_are_one_line_each(self):
    cases = [({"sampling": "random"}, r"sampling: got 'random', expected one of niid, iid"),
             ({"fraction": 0.0}, r"fraction: got 0.0, expected a value in \(0, 1\]"),
             ({"train_fraction": 1.5}, r"train_fraction: got 1.5"),
             ({"min_samples": -1}, r"min_samples: got -1, expected a whole number >= 0"),
             ({"test_windows": 2.5}, r"test_windows: got 2.5, expected a whole number >= 0"),
             ({"split": "play"}, r"split: got 'play', expected one of sample, user")]
    for options, message in cases:
      with self.assertRaisesRegex(DataError, message):
        leaf_shakespeare.LeafOptions(**options)

  def test_a_text_that_is_not_the_1994_edition_is_refused_or_noted(self):
    with self.assertRaisesRegex(DataError, r"^t.txt: no plays found; expected Project "
                                           r"Gutenberg's January 1994 edition"):
      leaf_shakespeare.build_leaf_shakespeare("x\ny\n", source="t.txt")
    folder = self.create_tempdir().full_path
    with open(os.path.join(folder, "100.txt"), "w", encoding="utf-8") as stream:
      stream.write(_edition(12))
    dataset = load_dataset("leaf_shakespeare", data_dir=self._data_dir(folder))
    self.assertIn("is not the January 1994 edition", dataset.notes[-1])

  def test_registry_options_are_typed(self):
    with self.assertRaisesRegex(ConfigError, "leaf_shakespeare: unknown option 'sf'"):
      load_dataset("leaf_shakespeare", sf=0.1)

  def _data_dir(self, folder):
    parent = self.create_tempdir().full_path
    os.symlink(folder, os.path.join(parent, "shakespeare-leaf"))
    return parent


class DownloadTest(tf.test.TestCase):

  def _home(self):
    """A home whose ~/.keras exists (Keras caches under /tmp/.keras otherwise)."""
    home = self.create_tempdir().full_path
    os.mkdir(os.path.join(home, ".keras"))
    return home

  def test_the_archive_is_downloaded_once_and_its_text_taken_out(self):
    home = self._home()
    archive = os.path.join(self.create_tempdir().full_path, "1994-01-100.zip")
    with zipfile.ZipFile(archive, "w") as bundle:
      bundle.writestr("100.txt", _edition(12).replace("\n", "\r\n"))
    published = leaf_shakespeare.ARCHIVE.__class__(
        "1994-01-100.zip", "file://" + archive, "", "Project Gutenberg")
    with mock.patch.dict(os.environ, {"HOME": home}):
      folder = leaf_shakespeare.download_text(published)
      self.assertEqual(leaf_shakespeare.download_text(published), folder)
    self.assertTrue(folder.startswith(home))
    _, text, note = leaf_shakespeare.read_text(folder)
    self.assertEqual(text, _edition(12))
    self.assertIn("not the January 1994 edition", note)

  def test_an_archive_without_the_text_is_one_line(self):
    home = self._home()
    archive = os.path.join(self.create_tempdir().full_path, "1994-01-100.zip")
    with zipfile.ZipFile(archive, "w") as bundle:
      bundle.writestr("other.txt", "x")
    published = leaf_shakespeare.ARCHIVE.__class__("1994-01-100.zip", "file://" + archive, "")
    with mock.patch.dict(os.environ, {"HOME": home}):
      with self.assertRaisesRegex(DataError, r"not a zip archive holding 100.txt"):
        leaf_shakespeare.download_text(published)


@requires_data("shakespeare-leaf", "100.txt")
class RealTextTest(tf.test.TestCase):
  """On the 1994 text. The sampled counts were checked against LEAF's own scripts
  (commit 09ec454, `sample.py`, `remove_users.py`, `split_data.py`) run on LEAF's
  all_data.json with its users in sorted order: the same users and windows."""

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.path, cls.text, cls.note = leaf_shakespeare.read_text(
        os.path.join(shared_data_dir(), "shakespeare-leaf"))

  def test_it_is_the_1994_edition_and_gives_leafs_users(self):
    self.assertIsNone(self.note)
    lines, play_of = leaf_plays.users_of(leaf_plays.split_into_plays(self.text))
    self.assertLen(lines, 1145)
    users = leaf_users.all_users(lines, play_of)
    self.assertEqual((len(users.names), int(users.num_samples.sum())),
                     leaf_shakespeare.LEAF_CODE_COUNTS)
    forty_eight = [name for name, n in zip(users.names, users.num_samples) if n == 48]
    self.assertEqual(forty_eight, ["KING_HENRY_THE_EIGHTH_VAUX",
                                   "THE_TRAGEDY_OF_TITUS_ANDRONICUS_GOTH"])
    self.assertIn("THE_TRAGEDY_OF_HAMLET__PRINCE_OF_DENMARK_HAM", users.names)

  def test_leafs_paper_sampling_gives_what_leafs_scripts_give(self):
    options = leaf_shakespeare.LeafOptions(fraction=0.05, min_samples=64, sampling_seed=7)
    dataset = leaf_shakespeare.build_leaf_shakespeare(self.text, options, source=self.path)
    self.assertLen(set(dataset.train.client_ids), 32)
    self.assertEqual((len(dataset.train), len(dataset.test)), (183580, 17886))
    iid = leaf_shakespeare.build_leaf_shakespeare(
        self.text, leaf_shakespeare.LeafOptions("iid", 0.05, 0.01, 64, sampling_seed=7),
        source=self.path)
    self.assertEqual((len(set(iid.train.client_ids)), len(iid.train), len(iid.test)),
                     (11, 190179, 20262))

  def test_the_whole_split_keeps_660_users_as_leafs_readme_says(self):
    dataset = load_dataset("leaf_shakespeare", data_dir=shared_data_dir(), limit=1000)
    self.assertIn("660 train users", dataset.notes[1])
    self.assertIn("1,130 users, 4,226,206 windows", dataset.notes[0])
