"""LEAF Shakespeare's users as windows into one character buffer, and LEAF's steps on them.

A user's examples are the 80-character windows of its text (stride 1) with the character
that follows as the label. Every window is stored as its start in one shared buffer of
character codes, so sampling, filtering and splitting move integer arrays, and IID users
(windows pooled from many characters) need nothing special. The steps follow LEAF's
`data/utils` scripts (`sample.py`, `remove_users.py`, `split_data.py`), drawing from
Python's `random.Random` in the same order as LEAF, so with the same user order and seed
they choose the same users and windows.
"""

from __future__ import annotations

import dataclasses
import random
import re
from typing import Dict, List, Optional, Tuple

import numpy as np

from tff_course.data.shakespeare import SEQUENCE_LENGTH, encode

_SPACE_RUNS = re.compile(r"  +")


@dataclasses.dataclass(frozen=True)
class Users:
  """Users and their windows.

  Attributes:
    names: user names in order.
    plays: each user's play (None for IID users, which come from many plays).
    windows: each user's window starts into `codes`, in the user's order.
    codes: every user's text, encoded, one after another.
  """

  names: Tuple[str, ...]
  plays: Tuple[Optional[str], ...]
  windows: Tuple[np.ndarray, ...]
  codes: np.ndarray

  @property
  def num_samples(self) -> np.ndarray:
    return np.array([len(w) for w in self.windows], dtype=np.int64)

  def select(self, keep: List[int], windows: Optional[List[np.ndarray]] = None) -> "Users":
    """The users at `keep`, in that order, optionally with other windows."""
    return Users(names=tuple(self.names[i] for i in keep),
                 plays=tuple(self.plays[i] for i in keep),
                 windows=tuple(windows if windows is not None
                               else [self.windows[i] for i in keep]),
                 codes=self.codes)


def user_text(lines: List[str]) -> str:
  """A user's text as LEAF makes it: lines joined and ended by newlines, newlines made
  spaces, runs of spaces made one."""
  return _SPACE_RUNS.sub(" ", "".join(line + "\n" for line in lines).replace("\n", " "))


def all_users(lines: Dict[str, List[str]], play_of: Dict[str, str],
              sequence_length: int = SEQUENCE_LENGTH) -> Users:
  """Every user with at least one window, in sorted name order (LEAF takes the order
  `os.listdir` gives, which differs between machines)."""
  names, texts = [], []
  for name in sorted(lines):
    text = user_text(lines[name])
    if len(text) > sequence_length:
      names.append(name)
      texts.append(text)
  lengths = np.array([len(t) for t in texts], dtype=np.int64)
  offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
  windows = tuple(offset + np.arange(length - sequence_length, dtype=np.int64)
                  for offset, length in zip(offsets, lengths))
  return Users(names=tuple(names), plays=tuple(play_of[n] for n in names),
               windows=windows, codes=encode("".join(texts)))


def sample_natural(users: Users, fraction: float, seed: int) -> Users:
  """LEAF's non-IID sampling: whole users in a shuffled order until `fraction` of all
  windows is reached; the last user is cut to what is missing (its first windows, in a
  random order, as LEAF takes them)."""
  rng = random.Random(seed)
  target = int(fraction * int(users.num_samples.sum()))
  order = list(range(len(users.names)))
  rng.shuffle(order)
  keep, windows, total = [], [], 0
  for index in order:
    if total >= target:
      break
    own = users.windows[index]
    if total + len(own) > target:
      missing = target - total
      own = own[:missing][rng.sample(range(missing), missing)]
    keep.append(index)
    windows.append(own)
    total += len(own)
  return users.select(keep, windows)


def sample_iid(users: Users, fraction: float, users_fraction: float, seed: int) -> Users:
  """LEAF's IID sampling: `fraction` of all windows drawn without replacement and dealt,
  in the order drawn, to round(users_fraction x users) new users named "0", "1", ..."""
  rng = random.Random(seed)
  pooled = np.concatenate(users.windows)
  chosen = pooled[rng.sample(range(len(pooled)), int(fraction * len(pooled)))]
  count = max(1, int(round(users_fraction * len(users.names))))
  groups = _equal_groups(chosen, count)
  return Users(names=tuple(str(i) for i in range(count)), plays=(None,) * count,
               windows=tuple(groups), codes=users.codes)


def _equal_groups(values: np.ndarray, count: int) -> List[np.ndarray]:
  """`values` cut in order into `count` groups, the last `len % count` one longer."""
  size = len(values) // count
  small = count - (len(values) - count * size)
  bounds = [size * i for i in range(small + 1)]
  bounds += [bounds[-1] + (size + 1) * i for i in range(1, count - small + 1)]
  return [values[a:b] for a, b in zip(bounds[:-1], bounds[1:])]


def remove_small(users: Users, min_samples: int) -> Users:
  """The users with at least `min_samples` windows."""
  return users.select([i for i, n in enumerate(users.num_samples) if n >= min_samples])


def split_by_sample(users: Users, train_fraction: float,
                    sequence_length: int = SEQUENCE_LENGTH) -> Tuple[Users, Users]:
  """LEAF's Shakespeare split: a user's first `train_fraction` of windows train, its test
  windows start `sequence_length - 1` windows later (so no test input overlaps a training
  input), and a user without both is dropped."""
  keep, train, test = [], [], []
  for index, own in enumerate(users.windows):
    if len(own) < 2:
      continue
    cut = 1 if len(own) == 2 else max(1, int(train_fraction * len(own)))
    held_out = own[cut + sequence_length - 1:]
    if len(held_out):
      keep.append(index)
      train.append(own[:cut])
      test.append(held_out)
  return users.select(keep, train), users.select(keep, test)


def split_by_user(users: Users, train_fraction: float, seed: int) -> Tuple[Users, Users]:
  """LEAF's split by user: `train_fraction` of the users, drawn, train; the rest test."""
  count = len(users.names)
  chosen = set(random.Random(seed).sample(range(count), int(train_fraction * count)))
  return (users.select([i for i in range(count) if i in chosen]),
          users.select([i for i in range(count) if i not in chosen]))
