"""Adding a benchmark's section to benchmarks/RESULTS.md, with date and machine."""

from __future__ import annotations

import datetime
import os

from tff_course.atomic import write_text
from tff_course.versions import machine_description

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "RESULTS.md")


def append_section(title: str, command: str, body: str) -> None:
  """Adds "## title (date, machine)", the command that measured it and `body` to the end
  of RESULTS.md (rewritten whole, through a temporary file)."""
  stamp = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
  with open(RESULTS, encoding="utf-8") as stream:
    existing = stream.read()
  write_text(RESULTS, existing + f"\n## {title} ({stamp}, {machine_description()})\n\n"
                                 f"`{command}`\n\n{body.rstrip()}\n")
