"""Shakespeare for next-character prediction, one client per speaking role.

Caldas et al., "LEAF: A Benchmark for Federated Settings" (2018) build the federated
Shakespeare dataset by giving each speaking role its own client; an example is a
window of 80 characters and its label the character that follows. This module does
the same for a play text in which each speech is a "NAME:" line followed by the lines
spoken and a blank line (the layout of Tiny Shakespeare). Each role's text is split in
time: the first `train_fraction` of it gives training windows, the rest test windows.
Tiny Shakespeare has no play boundaries, so a name used in two plays is one role.
"""

from __future__ import annotations

import os
import re
from typing import Dict, List, Optional

import numpy as np

from tff_course.data.dataset import Dataset, Modality, Split
from tff_course.errors import DataError

# LEAF's alphabet; any other character maps to the out-of-vocabulary code len(VOCABULARY).
VOCABULARY = ("\n !\"&'(),-.0123456789:;>?ABCDEFGHIJKLMNOPQRSTUVWXYZ[]"
              "abcdefghijklmnopqrstuvwxyz}")
OOV_LABEL = "<oov>"
SEQUENCE_LENGTH = 80
_SPEAKER = re.compile(r"^([A-Za-z][A-Za-z' .,&-]*):$")


def read_play(path: str) -> str:
  """Returns the text of `path`, or raises DataError if it is missing or not UTF-8."""
  if not os.path.isfile(path):
    raise DataError(f"{path}: file not found")
  try:
    with open(path, encoding="utf-8") as stream:
      return stream.read()
  except UnicodeDecodeError as error:
    raise DataError(f"{path}: not UTF-8 text ({error})") from None


def split_roles(text: str, where: str = "text") -> Dict[str, str]:
  """Maps each speaking role to everything it says, speeches joined by newlines.

  Raises:
    DataError: no "NAME:" speech is found.
  """
  speeches: Dict[str, List[str]] = {}
  for block in re.split(r"\n\s*\n", text):
    head, _, body = block.strip("\n").partition("\n")
    match = _SPEAKER.match(head.strip())
    if match and body.strip():
      speeches.setdefault(match.group(1), []).append(body)
  if not speeches:
    raise DataError(
        f"{where}: no speeches found; expected blocks of a 'NAME:' line followed by "
        f"the lines spoken, separated by blank lines")
  return {role: "\n".join(parts) for role, parts in speeches.items()}


def encode(text: str) -> np.ndarray:
  """Maps characters to codes in [0, len(VOCABULARY)], the last being out-of-vocabulary."""
  table = np.full(0x110000, len(VOCABULARY), dtype=np.uint8)
  table[[ord(c) for c in VOCABULARY]] = np.arange(len(VOCABULARY), dtype=np.uint8)
  return table[np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)]


def build_shakespeare(text: str, *, source: str, train_fraction: float = 0.8,
                      sequence_length: int = SEQUENCE_LENGTH, stride: int = 1,
                      limit: Optional[int] = None) -> Dataset:
  """Builds the per-role next-character dataset from a play text.

  Args:
    text: the play, in the layout described in the module docstring.
    source: where the text came from, recorded in the dataset.
    train_fraction: share of each role's text (from its start) used for training.
    sequence_length: characters in an input window.
    stride: distance between the starts of consecutive windows (LEAF uses 1).
    limit: keep at most this many windows per split.
  """
  if not 0 < train_fraction < 1:
    raise DataError(f"train_fraction: got {train_fraction}, expected a value in (0, 1)")
  for name, value in (("sequence_length", sequence_length), ("stride", stride)):
    if isinstance(value, bool) or int(value) != value or value < 1:
      raise DataError(f"{name}: got {value!r}, expected a whole number >= 1")
  roles = split_roles(text, source)
  parts = {"train": [], "test": []}
  dropped = []
  for role, spoken in roles.items():
    codes = encode(spoken)
    cut = int(len(codes) * train_fraction)
    train = _windows(codes[:cut], role, sequence_length, stride)
    if train is None:
      dropped.append(role)
      continue
    parts["train"].append(train)
    test = _windows(codes[cut:], role, sequence_length, stride)
    if test is not None:
      parts["test"].append(test)
  if not parts["train"]:
    raise DataError(f"{source}: no role says more than {sequence_length} characters")
  notes = [f"{len(roles) - len(dropped)} of {len(roles)} roles kept as clients; "
           f"{len(dropped)} say too little for one {sequence_length}-character window"]
  return Dataset(name="shakespeare", train=_stack(parts["train"], sequence_length, limit),
                 test=_stack(parts["test"], sequence_length, limit),
                 label_names=tuple(VOCABULARY) + (OOV_LABEL,), modality=Modality.TEXT,
                 source=source, notes=tuple(notes))


def _windows(codes: np.ndarray, role: str, length: int, stride: int):
  if len(codes) <= length:
    return None
  starts = np.arange(0, len(codes) - length, stride)
  view = np.lib.stride_tricks.sliding_window_view(codes, length + 1)[starts]
  return view[:, :length], view[:, length].astype(np.int64), np.full(len(starts), role)


def _stack(pieces, sequence_length: int, limit: Optional[int]) -> Split:
  if not pieces:
    return Split(x=np.zeros((0, sequence_length), np.uint8), y=np.zeros(0, np.int64),
                 client_ids=np.zeros(0, dtype=str))
  return Split.concatenate(pieces).take(limit)
