"""A report (report.md of a course experiment or of the inversion course) shown in a
notebook: its markdown, with every figure it links embedded where the link stands."""

from __future__ import annotations

import os
import re
from typing import List, Tuple

from tff_course.errors import ConfigError

IMAGE_LINK = re.compile(r"^!\[[^\]]*\]\(([^)\s]+)\)\s*$", re.MULTILINE)


def report_blocks(text: str, base_dir: str) -> List[Tuple[str, str]]:
  """The report cut into ("markdown", text) and ("image", path) blocks, in order; a
  line that is only an image link becomes the image's path, joined to `base_dir`."""
  blocks, start = [], 0
  for match in IMAGE_LINK.finditer(text):
    before = text[start:match.start()].strip()
    if before:
      blocks.append(("markdown", before))
    blocks.append(("image", os.path.join(base_dir, match.group(1))))
    start = match.end()
  rest = text[start:].strip()
  if rest:
    blocks.append(("markdown", rest))
  return blocks


def show_report(path: str) -> None:
  """Displays the report at `path` in the running notebook."""
  from IPython.display import Image, Markdown, display

  if not os.path.isfile(path):
    raise ConfigError(f"report: got {path!r}, expected a report.md file")
  with open(path, encoding="utf-8") as stream:
    blocks = report_blocks(stream.read(), os.path.dirname(path))
  for kind, content in blocks:
    display(Markdown(content) if kind == "markdown" else Image(filename=content))
