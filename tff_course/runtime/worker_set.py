"""Which TFF workers run a program's rounds: N local worker processes that the program
starts and owns, or workers already serving at HOST:PORT addresses (`tff-course worker`).

With more than one, TFF's mergeable execution context splits each round's clients into
one contiguous share per worker, in the order the round lists them; every worker
aggregates its share and the driver merges the aggregates.
"""

from __future__ import annotations

import dataclasses
from typing import Tuple, Union

from tff_course.errors import ConfigError

_EXPECTED = ("a whole number of local workers >= 1, or HOST:PORT addresses separated by "
             "commas, e.g. localhost:8000,localhost:8001")


@dataclasses.dataclass(frozen=True)
class WorkerSet:
  """`local` worker processes to start, or the `addresses` of running ones."""

  local: int = 1
  addresses: Tuple[Tuple[str, int], ...] = ()

  @property
  def count(self) -> int:
    return len(self.addresses) or self.local

  @property
  def merged(self) -> bool:
    """Whether rounds go through TFF's mergeable context (more than one worker, or
    workers this program does not own)."""
    return self.count > 1 or bool(self.addresses)

  def describe(self) -> str:
    if self.addresses:
      return ", ".join(f"{host}:{port}" for host, port in self.addresses)
    return f"{self.local} local worker{'s' if self.local > 1 else ''}"


def worker_set(value: Union[int, str], name: str = "train.workers") -> WorkerSet:
  """The WorkerSet that `value` names: a count (int or digits) or "HOST:PORT,...".

  Raises:
    ConfigError: one line naming `name`, the value and what was expected.
  """
  if isinstance(value, bool) or not isinstance(value, (int, str)):
    raise ConfigError(f"{name}: got {value!r}, expected {_EXPECTED}")
  text = str(value).strip()
  if text.isdigit():
    if int(text) < 1:
      raise ConfigError(f"{name}: got {value!r}, expected {_EXPECTED}")
    return WorkerSet(local=int(text))
  addresses = tuple(_address(part.strip(), value, name) for part in text.split(","))
  if len(set(addresses)) < len(addresses):
    raise ConfigError(f"{name}: got {value!r}, which lists a worker twice; expected "
                      f"distinct HOST:PORT addresses")
  return WorkerSet(addresses=addresses)


def _address(part: str, value, name: str) -> Tuple[str, int]:
  host, _, port = part.rpartition(":")
  if not host or not port.isdigit() or not 0 < int(port) < 65536:
    raise ConfigError(f"{name}: got {value!r}, expected {_EXPECTED} (ports 1 to 65535)")
  return host, int(port)
