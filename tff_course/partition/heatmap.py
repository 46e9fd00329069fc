"""A client x class heatmap of a partition, with each client's size beside it."""

from __future__ import annotations

import numpy as np

from tff_course.atomic import atomic_path
from tff_course.partition.summary import PartitionSummary

MAX_CLIENTS_SHOWN = 100
MAX_CLASS_TICKS = 25


def plot_heatmap(summary: PartitionSummary, path: str, *, title: str = "",
                 max_clients: int = MAX_CLIENTS_SHOWN) -> str:
  """Draws each client's class mix (row shares) and size to a PNG at `path`.

  With more than `max_clients` clients, evenly spaced clients are shown and the title
  says so. Returns `path`.
  """
  from matplotlib.backends.backend_agg import FigureCanvasAgg
  from matplotlib.figure import Figure
  from matplotlib.ticker import MaxNLocator

  rows = _shown_rows(len(summary.client_ids), max_clients)
  counts = summary.counts[rows]
  sizes = counts.sum(axis=1)
  shares = counts / np.maximum(sizes, 1)[:, None]
  num_classes = counts.shape[1]
  figure = Figure(figsize=(min(6 + 0.12 * num_classes, 18), 2.2 + 0.09 * len(rows)),
                  layout="constrained")
  FigureCanvasAgg(figure)
  heat_axes, size_axes = figure.subplots(
      1, 2, sharey=True, gridspec_kw={"width_ratios": [4, 1]})
  image = heat_axes.imshow(shares, aspect="auto", cmap="viridis", vmin=0, vmax=1,
                           interpolation="nearest")
  figure.colorbar(image, ax=size_axes, label="share of the client's examples")
  _label_classes(heat_axes, summary.label_names)
  heat_axes.set_yticks(*_client_ticks(summary, rows))
  heat_axes.set_ylabel("client" + (" (group)" if summary.groups else ""))
  size_axes.barh(np.arange(len(rows)), sizes, color="tab:gray", height=0.8)
  size_axes.set_xlabel("examples")
  size_axes.xaxis.set_major_locator(MaxNLocator(nbins=3, integer=True))
  shown = (f"{len(rows)} of {len(summary.client_ids):,} clients, evenly spaced"
           if len(rows) < len(summary.client_ids) else f"{len(rows)} clients")
  figure.suptitle(f"{title + ': ' if title else ''}{summary.name} ({shown})")
  with atomic_path(path) as temp:
    figure.savefig(temp, dpi=110, format="png")
  return path


def _shown_rows(num_clients: int, max_clients: int) -> np.ndarray:
  if num_clients <= max_clients:
    return np.arange(num_clients)
  return np.unique(np.linspace(0, num_clients - 1, max_clients).round().astype(np.int64))


def _label_classes(axes, label_names) -> None:
  step = max(1, int(np.ceil(len(label_names) / MAX_CLASS_TICKS)))
  positions = np.arange(0, len(label_names), step)
  names = [_printable(label_names[p]) for p in positions]
  axes.set_xticks(positions, names, rotation=90 if max(map(len, names)) > 2 else 0)
  axes.set_xlabel("class")


def _client_ticks(summary: PartitionSummary, rows: np.ndarray):
  step = max(1, int(np.ceil(len(rows) / 30)))
  positions = np.arange(0, len(rows), step)
  labels = []
  for position in positions:
    row = rows[position]
    label = str(summary.client_ids[row])
    if summary.groups is not None:
      label += f" ({summary.groups[row]})"
    labels.append(label)
  return positions, labels


def _printable(name) -> str:
  text = str(name)
  return {"\n": "\\n", " ": "space", "\t": "\\t"}.get(text, text)
