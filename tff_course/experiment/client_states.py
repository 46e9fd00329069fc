"""Per-client state kept across rounds (SCAFFOLD's controls, personal models), saved with
the run's checkpoints so that a resumed run sees exactly the states of the round it
resumes from.

Layout of run_dir/client-states: `store.json` (whose run and what shapes), one
`c<client>-r<round>.npz` per state a client got in a round, and a
`manifest-r<round>.json` per checkpointed round naming each client's file then. A round
writes only the clients it sampled; `commit(round)` writes that round's manifest (before
the run's checkpoint of the round is saved); `restore(round)` reads a manifest back and
deletes what later rounds wrote. Files no kept manifest names are deleted at commit.
"""

from __future__ import annotations

import json
import os
import re
from typing import Callable, Dict, List, Mapping

import numpy as np

from tff_course.atomic import atomic_path
from tff_course.errors import ConfigError

STATES_DIR = "client-states"
IDENTITY_FILE = "store.json"
KEEP_MANIFESTS = 3
_STATE_FILE = re.compile(r"^c(\d+)-r(\d+)\.npz$")
_MANIFEST_FILE = re.compile(r"^manifest-r(\d+)\.json$")


class ClientStateStore:
  """The states of a run's clients, by client position (its index in the federation).

  Args:
    directory: where the states live (created).
    identity: what the states belong to (the run and the states' kind and shapes); a
      directory holding another identity is refused.
    initial: a client's state before it first takes part.
  """

  def __init__(self, directory: str, identity: Mapping[str, object],
               initial: Callable[[], List[np.ndarray]]):
    self.directory = directory
    self.initial = initial
    self._latest: Dict[int, int] = {}
    os.makedirs(directory, exist_ok=True)
    _check_identity(directory, dict(identity))

  def get(self, client: int) -> List[np.ndarray]:
    """The client's latest state (the initial one if it has none yet)."""
    if client not in self._latest:
      return self.initial()
    with np.load(self._state_path(client, self._latest[client])) as saved:
      return [saved[f"a{i}"] for i in range(len(saved.files))]

  def put(self, client: int, state: List[np.ndarray], round_num: int) -> None:
    """Records the client's state after `round_num` (committed with the round)."""
    path = self._state_path(client, round_num)
    with atomic_path(path) as temp:
      with open(temp, "wb") as stream:
        np.savez(stream, **{f"a{i}": np.asarray(a) for i, a in enumerate(state)})
    self._latest[client] = round_num

  def commit(self, round_num: int) -> None:
    """Writes the manifest of `round_num`; keeps the last KEEP_MANIFESTS manifests and the
    files they name."""
    path = os.path.join(self.directory, f"manifest-r{round_num}.json")
    with atomic_path(path) as temp:
      with open(temp, "w", encoding="utf-8") as stream:
        json.dump({str(c): r for c, r in sorted(self._latest.items())}, stream)
    kept = sorted(self._manifest_rounds())[-KEEP_MANIFESTS:]
    named = {(c, r) for m in kept for c, r in self._read_manifest(m).items()}
    for name, found in self._files(_MANIFEST_FILE):
      if int(found.group(1)) not in kept:
        os.remove(os.path.join(self.directory, name))
    for name, found in self._files(_STATE_FILE):
      key = (int(found.group(1)), int(found.group(2)))
      if key not in named and key[1] <= round_num:
        os.remove(os.path.join(self.directory, name))

  def restore(self, round_num: int) -> None:
    """Goes back to the states committed with `round_num` (0: every client initial) and
    deletes what later rounds wrote.

    Raises:
      ConfigError: no manifest of `round_num` is kept.
    """
    if round_num == 0:
      self._latest = {}
    else:
      if round_num not in self._manifest_rounds():
        raise ConfigError(f"{self.directory}: no client states of round {round_num} (the "
                          f"run's checkpoint); the run directory is incomplete, start it "
                          f"again in a new --out")
      self._latest = self._read_manifest(round_num)
    for pattern, round_of in ((_MANIFEST_FILE, 1), (_STATE_FILE, 2)):
      for name, found in self._files(pattern):
        if int(found.group(round_of)) > round_num:
          os.remove(os.path.join(self.directory, name))

  def clients(self) -> List[int]:
    """The clients that have a state of their own."""
    return sorted(self._latest)

  def _state_path(self, client: int, round_num: int) -> str:
    return os.path.join(self.directory, f"c{client}-r{round_num}.npz")

  def _files(self, pattern):
    for name in os.listdir(self.directory):
      found = pattern.match(name)
      if found:
        yield name, found

  def _manifest_rounds(self) -> List[int]:
    return [int(found.group(1)) for _, found in self._files(_MANIFEST_FILE)]

  def _read_manifest(self, round_num: int) -> Dict[int, int]:
    path = os.path.join(self.directory, f"manifest-r{round_num}.json")
    with open(path, encoding="utf-8") as stream:
      return {int(c): int(r) for c, r in json.load(stream).items()}


def _check_identity(directory: str, identity: Dict[str, object]) -> None:
  path = os.path.join(directory, IDENTITY_FILE)
  expected = json.loads(json.dumps(identity))
  if not os.path.isfile(path):
    with atomic_path(path) as temp:
      with open(temp, "w", encoding="utf-8") as stream:
        json.dump(expected, stream, indent=1, sort_keys=True)
    return
  with open(path, encoding="utf-8") as stream:
    found = json.load(stream)
  if found != expected:
    differing = sorted(k for k in set(found) | set(expected) if found.get(k) != expected.get(k))
    raise ConfigError(f"{directory}: client states of another run (its {', '.join(differing)} "
                      f"differ: {_shown(found, differing)} here, {_shown(expected, differing)} "
                      f"expected); use a new --out or delete {directory}")


def _shown(identity: Mapping[str, object], keys: List[str]) -> str:
  return ", ".join(f"{k}={identity.get(k)!r}" for k in keys)


def open_store(run_dir: str, identity: Mapping[str, object],
               initial: Callable[[], List[np.ndarray]]) -> ClientStateStore:
  """The store of run_dir (in run_dir/client-states)."""
  return ClientStateStore(os.path.join(run_dir, STATES_DIR), identity, initial)
