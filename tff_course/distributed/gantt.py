"""The timeline of a pipeline step as a Gantt chart: one row per stage, a bar per forward
(light) and backward (dark) pass, labelled with its micro-batch, and the measured bubble
against (S - 1) / (M + S - 1) in the title."""

from __future__ import annotations

from typing import Dict, Tuple

from tff_course.atomic import atomic_path
from tff_course.distributed.pipeline_schedule import (FORWARD, Op, bubble_fraction,
                                                      ideal_bubble)


def draw_gantt(times: Dict[Op, Tuple[float, float]], stages: int, micro_batches: int,
               path: str, title: str = "") -> str:
  """Writes the chart of `times` (pass -> (start, end) in seconds) to `path`; returns it."""
  from matplotlib.backends.backend_agg import FigureCanvasAgg
  from matplotlib.figure import Figure

  origin = min(start for start, _ in times.values())
  figure = Figure(figsize=(7.5, 0.6 * stages + 1.4), layout="constrained")
  FigureCanvasAgg(figure)
  axis = figure.subplots()
  for op, (start, end) in times.items():
    forward = op.kind == FORWARD
    color = f"C{op.micro_batch % 10}"
    axis.barh(op.stage, 1000 * (end - start), left=1000 * (start - origin), height=0.7,
              color=color, alpha=0.45 if forward else 0.95, edgecolor="black", linewidth=0.4)
    axis.text(1000 * ((start + end) / 2 - origin), op.stage, f"{op.kind}{op.micro_batch}",
              ha="center", va="center", fontsize=6)
  axis.set_yticks(range(stages), [f"stage {s}" for s in range(stages)])
  axis.invert_yaxis()
  axis.set_xlabel("time since the step began (ms)")
  bubble = bubble_fraction(times, stages)
  axis.set_title(f"{title}{' - ' if title else ''}bubble {bubble:.1%} (ideal "
                 f"{ideal_bubble(stages, micro_batches):.1%})", fontsize=9)
  with atomic_path(path) as temp:
    figure.savefig(temp, dpi=110, format="png")
  return path
