"""The plays and speaking characters of Shakespeare's complete works, split as LEAF splits them.

LEAF (Caldas et al. 2018, github.com/TalwalkarLab/leaf, `preprocess_shakespeare.py`) reads
Project Gutenberg's January 1994 edition of the complete works (etext #100). Its rules,
which this module follows line for line so that the users come out the same:

- the first line is dropped; the text is cut into lines as `str.splitlines` cuts it;
- the plays start five lines before the second "by William Shakespeare" (the first
  belongs to the sonnets) and stop after line 124,195 (the poems follow);
- every line holding "by William Shakespeare" starts a play, whose title is the first
  non-blank line 2 to 6 lines above it (else the one 7 above);
- a speech starts on a line of two spaces, a name of letters and spaces, a period and a
  space; lines indented by four spaces continue the last speaker's speech. The Comedy
  of Errors is not indented in this edition, so there any "Name. text" line starts a
  speech (except "ACT ..." headings, which end it) and every other line continues it
  (except lines starting with "<", the edition's notices, which end it);
- names are upper-cased, plays with fewer than two speakers are dropped, and a
  character is a user only with more than two lines (snippets) in the play.

A user's name is "PLAY_CHARACTER" with every run of non-word characters made "_"; two
characters whose names collide are one user, as in LEAF.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Dict, List, Tuple

from tff_course.errors import DataError

PLAY_MARKER = "by William Shakespeare"
LAST_PLAY_LINE = 124195
MIN_SNIPPETS = 3
_TITLE_OFFSETS = (2, 3, 4, 5, 6)
_SPEECH = re.compile(r"^  ([a-zA-Z][a-zA-Z ]*)\. (.*)")
_CONTINUATION = re.compile(r"^    (.*)")
_UNINDENTED_SPEECH = re.compile(r"^([a-zA-Z][a-zA-Z ]*)\. (.*)")
_UNINDENTED_CONTINUATION = re.compile(r"^(.*)")
_UNINDENTED_PLAY = "THE COMEDY OF ERRORS"


@dataclasses.dataclass
class Play:
  """One play: its title and, per speaking character, the lines spoken in order."""

  title: str
  lines: Dict[str, List[str]] = dataclasses.field(default_factory=dict)


def split_into_plays(text: str) -> List[Play]:
  """The plays of the 1994 edition with their characters' lines, in the order of the
  text; plays with fewer than two speakers are left out."""
  lines = text.splitlines(True)[1:]
  start = _plays_start(lines)
  lines = lines[start:]
  plays: List[Play] = []
  speaker = None
  for index, line in enumerate(lines):
    if index > LAST_PLAY_LINE - start:
      break
    if PLAY_MARKER in line:
      plays.append(Play(_title(lines, index)))
      speaker = None
      continue
    if not plays:
      continue
    speaker = _read_line(plays[-1], speaker, line)
  return [play for play in plays if len(play.lines) > 1]


def _plays_start(lines: List[str]) -> int:
  markers = 0
  for index, line in enumerate(lines):
    markers += PLAY_MARKER in line
    if markers == 2:
      return index - 5
  return 0


def _title(lines: List[str], index: int) -> str:
  for offset in _TITLE_OFFSETS:
    if lines[index - offset].strip():
      return lines[index - offset].strip()
  title = lines[index - 7].strip()
  if not title:
    raise DataError(f"line {index}: no play title in the 7 lines above {PLAY_MARKER!r}; "
                    f"expected the January 1994 Gutenberg edition (etext #100)")
  return title


def _read_line(play: Play, speaker, line: str):
  """Adds `line` to `play` and returns who speaks next (None when no one does)."""
  unindented = play.title == _UNINDENTED_PLAY
  speech = (_UNINDENTED_SPEECH if unindented else _SPEECH).match(line)
  if speech:
    name = speech.group(1).upper()
    if unindented and name.startswith("ACT "):
      return None
    play.lines.setdefault(name, []).append(speech.group(2))
    return name
  if speaker is None:
    return None
  continuation = (_UNINDENTED_CONTINUATION if unindented else _CONTINUATION).match(line)
  if continuation is None:
    return speaker
  if unindented and continuation.group(1).startswith("<"):
    return None
  play.lines[speaker].append(continuation.group(1))
  return speaker


def user_name(title: str, character: str) -> str:
  """LEAF's user name for a character of a play, e.g. "THE_TRAGEDY_OF_HAMLET__PRINCE_OF_
  DENMARK_HAMLET"."""
  return re.sub(r"\W+", "_", f"{title}_{character}".replace(" ", "_"))


def users_of(plays: List[Play]) -> Tuple[Dict[str, List[str]], Dict[str, str]]:
  """Each user's lines (characters with fewer than MIN_SNIPPETS lines left out), and the
  play of every character's user name (of those left out too, as LEAF records it)."""
  lines: Dict[str, List[str]] = {}
  play_of: Dict[str, str] = {}
  for play in plays:
    for character in play.lines:
      play_of[user_name(play.title, character)] = play.title
    for character, spoken in play.lines.items():
      if len(spoken) >= MIN_SNIPPETS:
        lines.setdefault(user_name(play.title, character), []).extend(spoken)
  return lines, play_of
