"""Whether a process still runs, for the tests that no process outlives its owner."""

import time


def alive(pid: int) -> bool:
  """True while `pid` runs (a zombie, which holds nothing, counts as gone)."""
  try:
    with open(f"/proc/{pid}/stat", encoding="utf-8") as stream:
      return stream.read().rsplit(")", 1)[1].split()[0] != "Z"
  except FileNotFoundError:
    return False


def wait_gone(*pids: int, seconds: float = 10.0) -> bool:
  """Waits up to `seconds` for every pid to end; whether they all did."""
  deadline = time.monotonic() + seconds
  while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
    time.sleep(0.05)
  return not any(alive(pid) for pid in pids)
