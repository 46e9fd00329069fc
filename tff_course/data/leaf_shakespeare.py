"""LEAF's federated Shakespeare built from the Gutenberg text, with LEAF's options.

Caldas et al., "LEAF: A Benchmark for Federated Settings" (2018): one client per speaking
character of each play, 80-character windows predicting the next character. The steps and
their options are LEAF's `preprocess.sh` ones:

| LEAF flag | here | meaning |
|---|---|---|
| `-s niid` / `-s iid` / no `-s` | `sampling` "niid" / "iid" / "none" | how users are sampled |
| `--sf` | `fraction` | share of all windows sampled |
| `--iu` | `iid_users` | IID only: users made, as a share of the original users |
| `-k` | `min_samples` | users with fewer windows are removed |
| `-t sample` / `-t user` | `split` "sample" / "user" | per-user split or whole users |
| `--tf` | `train_fraction` | share of windows (or users) that train |
| `--smplseed` / `--spltseed` | `sampling_seed` / `split_seed` | the random draws |
| (none) | `test_windows` | evaluate on this many test windows drawn with `split_seed` (0: all) |

Two differences from LEAF, both deliberate: users are sorted by name before sampling
(LEAF takes `os.listdir`'s order, so its samples differ between machines), and characters
outside LEAF's 80-symbol alphabet get their own class (LEAF's model code folds them into
"}", the last symbol, and gives inputs the index -1).
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import zipfile
from typing import Optional, Tuple

import numpy as np

from tff_course.atomic import atomic_path
from tff_course.data import leaf_plays, leaf_users
from tff_course.data.dataset import Dataset, Modality, Split
from tff_course.data.shakespeare import OOV_LABEL, SEQUENCE_LENGTH, VOCABULARY, read_play
from tff_course.errors import DataError
from tff_course.published_files import PublishedFile, published_file

TEXT_FILE = "100.txt"
TEXT_SHA256 = "c5601d266987ac885ca96522b1b4e439feb7eca39f0fe1111f7342b63b6468f3"
ARCHIVE = PublishedFile("1994-01-100.zip",
                        "http://www.gutenberg.org/files/100/old/old/1994-01-100.zip", "",
                        "Project Gutenberg")
PUBLISHED_COUNTS = (1129, 4226158)
LEAF_CODE_COUNTS = (1130, 4226206)
SAMPLINGS = ("niid", "iid", "none")
SPLITS = ("sample", "user")


@dataclasses.dataclass(frozen=True)
class LeafOptions:
  """LEAF's preprocessing options (see the module docstring for the flags they mirror)."""

  sampling: str = "niid"
  fraction: float = 1.0
  iid_users: float = 0.01
  min_samples: int = 0
  split: str = "sample"
  train_fraction: float = 0.9
  sampling_seed: int = 0
  split_seed: int = 0
  test_windows: int = 0

  def __post_init__(self):
    for name, allowed in (("sampling", SAMPLINGS), ("split", SPLITS)):
      if getattr(self, name) not in allowed:
        raise DataError(f"leaf_shakespeare {name}: got {getattr(self, name)!r}, expected "
                        f"one of {', '.join(allowed)}")
    for name in ("fraction", "iid_users", "train_fraction"):
      value = getattr(self, name)
      if not 0 < value <= 1:
        raise DataError(f"leaf_shakespeare {name}: got {value}, expected a value in (0, 1]")
    for name in ("min_samples", "test_windows"):
      value = getattr(self, name)
      if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise DataError(f"leaf_shakespeare {name}: got {value!r}, expected a whole number "
                        f">= 0")


def build_leaf_shakespeare(text: str, options: LeafOptions = LeafOptions(), *,
                           source: str, limit: Optional[int] = None) -> Dataset:
  """LEAF's Shakespeare from the 1994 Gutenberg text `text`.

  Raises:
    DataError: the text has no plays in the 1994 edition's layout, or the options leave
      no user.
  """
  plays = leaf_plays.split_into_plays(text)
  if not plays:
    raise DataError(f"{source}: no plays found; expected Project Gutenberg's January 1994 "
                    f"edition of the complete works (etext #100, {TEXT_FILE})")
  lines, play_of = leaf_plays.users_of(plays)
  everyone = leaf_users.all_users(lines, play_of)
  notes = [_count_note(everyone)]
  train, test, steps = _leaf_steps(everyone, options)
  if not train.names:
    raise DataError(f"{source}: no user is left after {'; '.join(steps)}; sample a larger "
                    f"fraction or lower min_samples")
  notes.append(f"{'; '.join(steps)}: {len(train.names):,} train users, "
               f"{len(test.names):,} test users")
  out_of_alphabet = int(np.count_nonzero(everyone.codes == len(VOCABULARY)))
  if out_of_alphabet:
    notes.append(f"{out_of_alphabet:,} characters outside LEAF's alphabet have class "
                 f"{OOV_LABEL!r}")
  test_split = _split(test)
  if 0 < options.test_windows < len(test_split):
    notes.append(f"evaluated on {options.test_windows:,} of the {len(test_split):,} test "
                 f"windows (drawn with split_seed {options.split_seed})")
    test_split = test_split.sample(options.test_windows, options.split_seed)
  return Dataset(name="leaf_shakespeare", train=_split(train).take(limit),
                 test=test_split.take(limit), label_names=tuple(VOCABULARY) + (OOV_LABEL,),
                 modality=Modality.TEXT, source=source, notes=tuple(notes))


def _count_note(users: leaf_users.Users) -> str:
  return (f"{len(users.names):,} users, {int(users.num_samples.sum()):,} windows before "
          f"sampling (LEAF publishes {PUBLISHED_COUNTS[0]:,} / {PUBLISHED_COUNTS[1]:,}; "
          f"LEAF's code on the 1994 text gives {LEAF_CODE_COUNTS[0]:,} / "
          f"{LEAF_CODE_COUNTS[1]:,})")


def _leaf_steps(users: leaf_users.Users, options: LeafOptions) -> Tuple:
  steps = []
  if options.sampling == "niid":
    users = leaf_users.sample_natural(users, options.fraction, options.sampling_seed)
    steps.append(f"non-IID sample of {options.fraction:.0%} of the windows")
  elif options.sampling == "iid":
    users = leaf_users.sample_iid(users, options.fraction, options.iid_users,
                                  options.sampling_seed)
    steps.append(f"IID sample of {options.fraction:.0%} of the windows into "
                 f"{len(users.names):,} users")
  if options.min_samples:
    users = leaf_users.remove_small(users, options.min_samples)
    steps.append(f"users with under {options.min_samples} windows removed")
  if options.split == "sample":
    train, test = leaf_users.split_by_sample(users, options.train_fraction)
    steps.append(f"each user's first {options.train_fraction:g} of windows train")
  else:
    train, test = leaf_users.split_by_user(users, options.train_fraction,
                                           options.split_seed)
    steps.append(f"{options.train_fraction:g} of the users train")
  return train, test, steps


def _split(users: leaf_users.Users) -> Split:
  """The users' windows as rows: inputs, next character, and the user as client id."""
  counts = users.num_samples
  starts = (np.concatenate(users.windows) if users.windows
            else np.zeros(0, dtype=np.int64))
  rows = np.lib.stride_tricks.sliding_window_view(users.codes, SEQUENCE_LENGTH + 1)[starts]
  names = np.array(users.names, dtype=object)
  return Split(x=rows[:, :SEQUENCE_LENGTH], y=rows[:, SEQUENCE_LENGTH].astype(np.int64),
               client_ids=np.repeat(names, counts))


def read_text(folder: str) -> Tuple[str, str, Optional[str]]:
  """The path and text of `folder`/100.txt, and a note when the text is not the January
  1994 edition's (LEAF's users depend on its exact lines).

  Raises:
    DataError: the file is missing or not UTF-8.
  """
  path = os.path.join(folder, TEXT_FILE)
  text = read_play(path)
  digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
  if digest == TEXT_SHA256:
    return path, text, None
  return path, text, (f"{path} is not the January 1994 edition (sha256 {digest[:12]}..., "
                      f"expected {TEXT_SHA256[:12]}...): its users are not LEAF's")


def download_text(archive: PublishedFile = ARCHIVE) -> str:
  """Downloads Gutenberg's 1994 archive (the one LEAF's `get_data.sh` fetches) into
  Keras's cache, takes 100.txt out of it, and returns the folder holding 100.txt.

  Raises:
    DataError: the download failed or the archive holds no 100.txt.
  """
  path = published_file(archive, flag="--data-dir DIR (with shakespeare-leaf/100.txt)")
  folder = os.path.join(os.path.dirname(path), "leaf_shakespeare")
  target = os.path.join(folder, TEXT_FILE)
  if os.path.isfile(target):
    return folder
  try:
    with zipfile.ZipFile(path) as bundle:
      member = next(n for n in bundle.namelist() if os.path.basename(n) == TEXT_FILE)
      content = bundle.read(member)
  except (zipfile.BadZipFile, StopIteration):
    raise DataError(f"{path}: not a zip archive holding {TEXT_FILE}; delete it and "
                    f"download it again") from None
  with atomic_path(target) as temp:
    with open(temp, "wb") as stream:
      stream.write(content)
  return folder
