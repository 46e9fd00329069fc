"""Published files (weights, vocabularies): found in a local directory under their
published name and checked against their sha256, or downloaded and cached by
`keras.utils.get_file`, which checks the same hash. A file whose publisher gives no hash
has sha256 "" and is not checked."""

from __future__ import annotations

import dataclasses
import hashlib
import os
from typing import Optional

from tff_course.errors import DataError

CHUNK = 1 << 20


@dataclasses.dataclass(frozen=True)
class PublishedFile:
  """One published file: its name, where it is downloaded from, its sha256 ("": none
  published, not checked), its publisher."""

  name: str
  origin: str
  sha256: str
  publisher: str = ""

  def described(self) -> str:
    """"KerasCV's kcv_decoder.h5", or the bare name when the publisher is not given."""
    return f"{self.publisher}'s {self.name}" if self.publisher else self.name


def sha256_of(path: str) -> str:
  """The file's sha256, hex."""
  digest = hashlib.sha256()
  with open(path, "rb") as stream:
    for chunk in iter(lambda: stream.read(CHUNK), b""):
      digest.update(chunk)
  return digest.hexdigest()


def checked_local_file(published: PublishedFile, directory: str) -> str:
  """directory/NAME, checked by `checked_file`."""
  return checked_file(os.path.join(directory, published.name), published)


def checked_file(path: str, published: PublishedFile) -> str:
  """`path`, when it holds the published file (when no sha256 is published: when it exists).

  Raises:
    DataError: one line naming the file and the sha256 expected, when it is missing or
      its content differs (a partial download, another version).
  """
  if not os.path.isfile(path):
    checksum = f"sha256 {published.sha256}" if published.sha256 else "no sha256 published"
    raise DataError(f"{path}: missing; expected {published.described()} "
                    f"({checksum}, from {published.origin})")
  if not published.sha256:
    return path
  found = sha256_of(path)
  if found != published.sha256:
    raise DataError(f"{path}: sha256 {found}, expected {published.sha256} (a partial "
                    f"download or another file; fetch it again from {published.origin})")
  return path


def published_file(published: PublishedFile, directory: Optional[str] = None, *,
                   flag: str = "--weights-dir DIR") -> str:
  """The published file's local path: from `directory` (checked), else downloaded and
  cached by `keras.utils.get_file` with the same hash (none when none is published);
  offline, the error names `flag`, the option that gives the file instead."""
  if directory is not None:
    return checked_local_file(published, directory)
  from tensorflow import keras

  try:
    return keras.utils.get_file(published.name, published.origin,
                                file_hash=published.sha256 or None)
  except Exception as error:  # get_file raises several types for one cause: no file.
    raise DataError(f"{published.name}: could not download it from {published.origin} "
                    f"({type(error).__name__}: {error}); without a network, put the file "
                    f"in a directory and pass it ({flag})") from None
