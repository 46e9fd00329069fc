"""The curves of a course experiment's arms, drawn into its run directory."""

from __future__ import annotations

from typing import Optional, Sequence

from tff_course.course import markdown
from tff_course.course.results import Results
from tff_course.plots import plot_runs


def arm_curves(results: Results, keys: Sequence[str], filename: str, title: str, *,
               baseline: Optional[str] = None) -> str:
  """Draws the arms' accuracy and loss curves (and the difference to the `baseline`
  arm's test accuracy) into run_dir/filename; returns the markdown image."""
  path = plot_runs([results.path(key) for key in keys], results.path(filename),
                   labels=[results.arm(key).label for key in keys], title=title,
                   baseline=results.path(baseline) if baseline else None)
  return markdown.image(results, path, title)
