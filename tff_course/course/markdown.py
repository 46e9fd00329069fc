"""Markdown pieces of the course experiments' reports."""

from __future__ import annotations

import math
import os
from typing import Any, Iterable, Mapping, Optional, Sequence, Tuple

from tff_course.course.results import Results


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
  """A markdown table; cells are written with str()."""
  lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
  lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
  return "\n".join(lines)


def image(results: Results, path: str, caption: str) -> str:
  """A markdown image of a file in the run directory, linked relative to the report."""
  return f"![{caption}]({os.path.relpath(path, results.run_dir)})"


def percent(value: float) -> str:
  return "n/a" if value is None or math.isnan(value) else f"{100 * value:.2f} %"


def points(value: float) -> str:
  return "n/a" if math.isnan(value) else f"{100 * value:+.2f} pt"


def count(value: Optional[int]) -> str:
  return "n/a" if value is None else f"{value:,}"


def megabytes(value: Optional[float]) -> str:
  return "n/a" if value is None else f"{value / 1e6:,.1f} MB"


def runs_table(results: Results, keys: Optional[Sequence[str]] = None) -> str:
  """One row per arm: rounds, final and best test accuracy, messages, upload, time."""
  rows = []
  for key in keys or [arm.key for arm in results.arms]:
    summary = results.summary(key)
    final = (f"diverged (round {summary.rounds + 1})" if results.diverged(key) else
             percent(summary.test_accuracy))
    rows.append((results.arm(key).label, summary.rounds, final,
                 percent(summary.best_test_accuracy), f"{summary.train_loss:.4f}",
                 count(summary.messages), megabytes(summary.bytes_up),
                 f"{summary.seconds / 60:.1f}"))
  return table(("run", "rounds", "final test acc.", "best test acc.", "final train loss",
                "messages", "uploaded", "minutes"), rows)


def test_noise(test_sets: Mapping[str, Tuple[int, Sequence[str]]]) -> str:
  """A sentence on how far test accuracy moves by chance on test sets of these sizes."""
  parts = [f"{name}: {size:,} test examples{_parenthesized(notes)}, standard error of an "
           f"accuracy near 50 % {100 * math.sqrt(0.25 / size):.1f} pt"
           for name, (size, notes) in test_sets.items()]
  return ("Test accuracies are measured on the test split as loaded (" + "; ".join(parts) +
          "): differences smaller than about twice that are within chance.")


def _parenthesized(notes: Sequence[str]) -> str:
  return f" ({'; '.join(notes)})" if notes else ""


SETTINGS_COLUMNS = (
    ("dataset", "data.dataset"), ("partition", "data.partition"),
    ("clients", "data.num_clients"), ("examples/client", "data.samples_per_client"),
    ("model", "train.model"), ("algorithm", "train.algorithm"),
    ("C", "train.client_fraction"), ("per group", "train.devices_per_group"),
    ("E", "train.epochs"), ("B", "train.batch_size"), ("lr", "train.client_lr"),
    ("momentum", "train.client_momentum"),
    ("aggregator", "train.aggregator"), ("bits", "train.quant_bits"),
    ("rounds", "train.rounds"))


def settings_table(results: Results) -> str:
  """The arms' settings side by side, the columns that matter to these arms only."""
  described = [(arm.label, _flatten(arm.description())) for arm in results.arms]
  columns = [(name, key) for name, key in SETTINGS_COLUMNS
             if any(flat.get(key) not in (None, {}) for _, flat in described)]
  extra = sorted({key for _, flat in described for key in flat if key.startswith("numpy.")})
  columns += [(key[len("numpy."):], key) for key in extra]
  rows = [(label, *(_cell(flat.get(key)) for _, key in columns)) for label, flat in described]
  return table(("run", *(name for name, _ in columns)), rows)


FEDERATED_ONLY = ("train.client_fraction", "train.devices_per_group", "train.epochs",
                  "train.aggregator")


def _flatten(description: Mapping[str, Any]) -> Mapping[str, Any]:
  flat = {}
  for section, fields in description.get("config", {}).items():
    if isinstance(fields, Mapping):
      flat.update({f"{section}.{name}": value for name, value in fields.items()})
  if flat.get("train.aggregator") != "quantized":
    flat.pop("train.quant_bits", None)
  if flat.get("train.algorithm") == "centralized":
    for key in FEDERATED_ONLY:
      flat.pop(key, None)
  if flat.get("train.algorithm") == "fedsgd":
    flat.pop("train.epochs", None)
    flat["train.batch_size"] = "all"
  if flat.get("train.devices_per_group") is not None:
    flat.pop("train.client_fraction", None)
  if flat.get("data.partition") == "groups":
    flat.pop("data.num_clients", None)
  flat.update({f"numpy.{name}": value for name, value in description.get("numpy", {}).items()})
  return flat


def _cell(value) -> str:
  if value is None:
    return "-"
  if isinstance(value, Mapping):
    return "/".join(str(v) for _, v in sorted(value.items()))
  return str(value)
