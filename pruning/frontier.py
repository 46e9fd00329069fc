"""The accuracy-sparsity frontier: every method at every sparsity, as a table and a plot.

Each point prunes the same trained reference model with one method to one target
sparsity and records the measured sparsity (zeros over every parameter), validation
and test accuracy, the competition score on test, and the wall time. Points are
written as they finish, so an interrupted sweep resumes where it stopped.
tfmot's `prune_low_magnitude` appears as a reference line only.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import os
import time
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from pruning.methods import METHODS, PruneSettings, get_method
from pruning.reference import TaskData
from pruning.score import competition_score, count_zeros
from pruning.tfmot_reference import NAME as TFMOT, tfmot_prune_low_magnitude
from pruning.training import accuracy
from tff_course.atomic import atomic_path, write_text
from tff_course.errors import ConfigError, DataError

SPARSITIES = (0.5, 0.7, 0.8, 0.9, 0.95, 0.98)
TABLE_FILE = "frontier.csv"


@dataclasses.dataclass(frozen=True)
class Point:
  """One method at one target sparsity, measured."""

  method: str
  target: float
  zeros: int
  parameters: int
  validation_accuracy: float
  test_accuracy: float
  seconds: float

  @property
  def sparsity(self) -> float:
    return self.zeros / self.parameters

  @property
  def score(self) -> float:
    return competition_score(self.test_accuracy, self.sparsity)

  @property
  def validation_score(self) -> float:
    return competition_score(self.validation_accuracy, self.sparsity)


def method_runner(name: str) -> Callable:
  """Our method `name`, or the tfmot reference for its name."""
  return tfmot_prune_low_magnitude if name == TFMOT else get_method(name)


def measure(name: str, model, data: TaskData, target: float,
            settings: PruneSettings) -> Tuple[Point, object]:
  """Runs method `name` on `model`; returns its point and its result."""
  start = time.perf_counter()
  result = method_runner(name)(model, data, target, settings=settings)
  seconds = time.perf_counter() - start
  zeros, total = count_zeros(result.model.get_weights())
  point = Point(name, target, zeros, total, accuracy(result.model, data.validation),
                accuracy(result.model, data.test), seconds)
  return point, result


def sweep(model, data: TaskData, *, methods: Sequence[str], sparsities: Sequence[float],
          settings: PruneSettings, done: Sequence[Point] = (),
          on_point: Optional[Callable[[Point, object], None]] = None) -> List[Point]:
  """Every (method, sparsity) pair not in `done`, in order; returns all points."""
  points = list(done)
  finished = {(p.method, p.target) for p in points}
  check_methods(methods)
  for name in methods:
    for target in sparsities:
      if (name, target) in finished:
        continue
      point, result = measure(name, model, data, target, settings)
      points.append(point)
      if on_point is not None:
        on_point(point, result)
  return points


def best(points: Sequence[Point], *, key: str = "score") -> Optional[Point]:
  """Our methods' point of highest `key` ("score" on test or "validation_score")."""
  ours = [p for p in points if p.method != TFMOT and getattr(p, key) > 0]
  return max(ours, key=lambda p: getattr(p, key)) if ours else None


_COLUMNS = ("method", "target", "zeros", "parameters", "validation_accuracy",
            "test_accuracy", "seconds")


def write_csv(points: Sequence[Point], path: str) -> None:
  """The points as CSV (raw measurements; sparsity and score follow from them)."""
  buffer = io.StringIO()
  writer = csv.writer(buffer, lineterminator="\n")
  writer.writerow(_COLUMNS + ("sparsity", "score"))
  for p in points:
    writer.writerow([p.method, p.target, p.zeros, p.parameters, repr(p.validation_accuracy),
                     repr(p.test_accuracy), f"{p.seconds:.2f}", f"{p.sparsity:.6f}",
                     f"{p.score:.6f}"])
  write_text(path, buffer.getvalue())


def read_csv(path: str) -> List[Point]:
  """Points written by `write_csv`.

  Raises:
    DataError: the file lacks a column or holds a value that is not a number.
  """
  with open(path, newline="", encoding="utf-8") as stream:
    rows = list(csv.DictReader(stream))
  try:
    return [Point(row["method"], float(row["target"]), int(row["zeros"]),
                  int(row["parameters"]), float(row["validation_accuracy"]),
                  float(row["test_accuracy"]), float(row["seconds"])) for row in rows]
  except (KeyError, TypeError, ValueError) as error:
    raise DataError(f"{path}: not a frontier table of this version ({error})") from error


def markdown_table(points: Sequence[Point]) -> str:
  """One row per point; the best test score is marked with a star (ours only)."""
  top, chosen = best(points), best(points, key="validation_score")
  lines = ["| method | target | sparsity | val acc | test acc | score | seconds |",
           "|---|---|---|---|---|---|---|"]
  for p in points:
    mark = (" ★" if p is top else "") + (" (val-best)" if p is chosen else "")
    lines.append(f"| {p.method} | {p.target:g} | {p.sparsity:.4f} | "
                 f"{p.validation_accuracy:.4f} | {p.test_accuracy:.4f} | "
                 f"{p.score:.4f}{mark} | {p.seconds:.0f} |")
  return "\n".join(lines)


def plot(points: Sequence[Point], path: str, *, title: str = "") -> str:
  """Test accuracy and score against sparsity, one line per method; returns `path`."""
  from matplotlib.backends.backend_agg import FigureCanvasAgg
  from matplotlib.figure import Figure

  if not points:
    raise ConfigError("frontier plot: no points to draw")
  figure = Figure(figsize=(11, 4.4), layout="constrained")
  FigureCanvasAgg(figure)
  accuracy_axes, score_axes = figure.subplots(1, 2)
  names = list(dict.fromkeys(p.method for p in points))
  for index, name in enumerate(names):
    line = sorted((p for p in points if p.method == name), key=lambda p: p.sparsity)
    style = dict(color="black", linestyle="--", marker="x") if name == TFMOT else dict(
        color=f"C{index % 10}", marker="o")
    label = f"{name} (reference)" if name == TFMOT else name
    accuracy_axes.plot([p.sparsity for p in line], [p.test_accuracy for p in line],
                       label=label, **style)
    score_axes.plot([p.sparsity for p in line], [p.score for p in line], label=label,
                    **style)
  accuracy_axes.axhline(0.6, color="grey", linewidth=0.8, linestyle=":")
  top = best(points)
  if top is not None:
    for axes, value in ((accuracy_axes, top.test_accuracy), (score_axes, top.score)):
      axes.plot([top.sparsity], [value], marker="*", markersize=18, color="gold",
                markeredgecolor="black", zorder=5, linestyle="none",
                label=f"best score {top.score:.4f} ({top.method}, {top.sparsity:.3f})")
  accuracy_axes.set(xlabel="sparsity (zeros / all parameters)", ylabel="test accuracy",
                    title="accuracy (dotted: the 0.6 floor)")
  score_axes.set(xlabel="sparsity (zeros / all parameters)",
                 ylabel="score = (accuracy + sparsity) / 2", title="competition score")
  score_axes.legend(fontsize=7, loc="lower left")
  if title:
    figure.suptitle(title)
  with atomic_path(path) as temp:
    figure.savefig(temp, dpi=120)
  return path


def resume_points(output_dir: str) -> List[Point]:
  """The points an earlier sweep into `output_dir` recorded (none if it did not)."""
  path = os.path.join(output_dir, TABLE_FILE)
  return read_csv(path) if os.path.isfile(path) else []


def check_methods(names: Sequence[str]) -> List[str]:
  """`names` validated (ours or the tfmot reference); raises ConfigError otherwise."""
  known = list(METHODS) + [TFMOT]
  for name in names:
    if name not in known:
      raise ConfigError(f"method: got {name!r}, expected one of {', '.join(known)}")
  return list(names)


def settings_record(settings: PruneSettings) -> Dict:
  """The settings as plain values, for the run's config file."""
  return dataclasses.asdict(settings)
