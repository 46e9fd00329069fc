"""Image grids: samples tiled with NumPy, and PNG figures of them with labels (a row per
prompt, a column per seed or setting) or side by side for comparisons.

Figures are laid out in pixels: every image pixel becomes a `scale` x `scale` block
(nearest neighbour), so a 32x32 sample stays sharp and every tile the same size.
"""

from __future__ import annotations

import itertools
from typing import Iterator, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from tff_course.atomic import atomic_path
from tff_course.errors import ConfigError

DPI = 100
FONT_SIZE = 9
TITLE_SIZE = 10
GAP = 2
SEPARATOR = 255
PAD = 8
PANEL_GAP = 16
ROW_LABEL_WIDTH = 240
TILE_TARGET = 128
PANEL_TARGET = 384
MAX_COLUMN_LABEL_LINES = 3
MAX_TITLE_LINES = 3
TITLE_WIDTH = 400


def image_grid(images: np.ndarray, rows: int, cols: int, *, gap: int = GAP,
               fill: int = SEPARATOR) -> np.ndarray:
  """Tiles rows * cols images row by row into one image.

  Args:
    images: uint8 (rows * cols, H, W) or (rows * cols, H, W, C).
    rows: tiles down.
    cols: tiles across.
    gap: pixels between neighbouring tiles.
    fill: value of the pixels between tiles.

  Returns:
    uint8 (rows * H + (rows - 1) * gap, cols * W + (cols - 1) * gap[, C]); image i is
    the tile at row i // cols, column i % cols.
  """
  images = _checked_images(images, "images")
  if rows < 1 or cols < 1 or rows * cols != len(images):
    raise ConfigError(f"grid: got {len(images)} images for {rows} rows x {cols} columns, "
                      f"expected rows * cols images")
  if gap < 0 or not 0 <= fill <= 255:
    raise ConfigError(f"grid: got gap {gap} and fill {fill}, expected gap >= 0 and fill "
                      f"0 to 255")
  height, width = images.shape[1:3]
  grid = np.full((rows * height + (rows - 1) * gap, cols * width + (cols - 1) * gap) +
                 images.shape[3:], fill, np.uint8)
  for index, image in enumerate(images):
    top, left = _tile_origin(index, cols, height, width, gap)
    grid[top:top + height, left:left + width] = image
  return grid


def save_labeled_grid(path: str, images: np.ndarray, row_labels: Sequence[str],
                      col_labels: Optional[Sequence[str]] = None,
                      title: Optional[str] = None, scale: Optional[int] = None) -> str:
  """Writes a grid of images as a PNG, with a label left of each row (wrapped to a few
  lines) and optionally one above each column and a title; returns `path`.

  Args:
    path: the PNG to write (atomically).
    images: uint8 (rows * cols, H, W[, C]), C 1 (shown gray) or 3, row by row.
    row_labels: one per row (a prompt, a setting); its count sets the rows.
    col_labels: one per column (a seed, a step), or None.
    title: a line above the grid, or None.
    scale: pixels per image pixel; default: tiles about 128 pixels high.
  """
  images = _checked_images(images, "images")
  rows = len(row_labels)
  if rows < 1 or len(images) % rows:
    raise ConfigError(f"labeled grid: got {len(images)} images for {rows} row labels, "
                      f"expected a whole number of images per row")
  cols = len(images) // rows
  if col_labels is not None and len(col_labels) != cols:
    raise ConfigError(f"labeled grid: got {len(col_labels)} column labels, expected "
                      f"{cols} (one per column)")
  scale = _checked_scale(scale, images.shape[1:3], TILE_TARGET)
  grid = image_grid(_upscaled(images, scale), rows, cols)
  tile_height, tile_width = images.shape[1] * scale, images.shape[2] * scale
  measure = _Measure()
  row_lines = [measure.wrap(label, ROW_LABEL_WIDTH, max(1, tile_height // measure.line()))
               for label in row_labels]
  label_width = max([measure.width(line) for lines in row_lines for line in lines] + [0])
  left = PAD + (label_width + PAD if label_width else 0)
  col_lines = [measure.wrap(label, tile_width, MAX_COLUMN_LABEL_LINES)
               for label in col_labels or []]
  col_height = max([len(lines) for lines in col_lines] + [0]) * measure.line()
  col_height += PAD // 2 if col_height else 0
  width = left + grid.shape[1] + PAD
  title_lines, title_width, title_height = _title(measure, title, width)
  size = (max(width, title_width), PAD + title_height + col_height + grid.shape[0] + PAD)
  left += (size[0] - width) // 2
  figure = _figure(size)
  _show(figure, size, grid, (left, PAD))
  for row, lines in enumerate(row_lines):
    middle = PAD + grid.shape[0] - row * (tile_height + GAP) - tile_height / 2
    _text(figure, size, (left - PAD, middle), lines, ha="right", va="center")
  for col, lines in enumerate(col_lines):
    _text(figure, size, (left + col * (tile_width + GAP) + tile_width / 2,
                         PAD + grid.shape[0] + PAD // 2), lines, ha="center", va="bottom")
  _text(figure, size, (size[0] / 2, size[1] - PAD), title_lines, ha="center", va="top",
        fontsize=TITLE_SIZE)
  return _save(figure, path)


def save_side_by_side(path: str, panels: Mapping[str, np.ndarray], *,
                      title: Optional[str] = None, scale: Optional[int] = None) -> str:
  """Writes images side by side as a PNG, each under its label (e.g. "with prior
  preservation" and "without", each an `image_grid`); returns `path`.

  Args:
    path: the PNG to write (atomically).
    panels: label -> uint8 image (H, W) or (H, W, C), C 1 (shown gray) or 3; sizes may
      differ, all are drawn at one scale.
    title: a line above the panels, or None.
    scale: pixels per image pixel; default: the largest panel about 384 pixels across.
  """
  if not panels:
    raise ConfigError("side by side: got no panels, expected label -> image")
  images = {label: _checked_images(np.asarray(image)[None], f"panel {label!r}")[0]
            for label, image in panels.items()}
  largest = tuple(max(image.shape[axis] for image in images.values()) for axis in (0, 1))
  scale = _checked_scale(scale, largest, PANEL_TARGET)
  images = {label: _upscaled(image[None], scale)[0] for label, image in images.items()}
  measure = _Measure()
  label_lines = [measure.wrap(label, image.shape[1], MAX_COLUMN_LABEL_LINES)
                 for label, image in images.items()]
  label_height = max(len(lines) for lines in label_lines) * measure.line()
  label_height += PAD // 2 if label_height else 0
  width = sum(image.shape[1] for image in images.values()) + \
      PANEL_GAP * (len(images) - 1) + 2 * PAD
  title_lines, title_width, title_height = _title(measure, title, width)
  height = max(image.shape[0] for image in images.values())
  size = (max(width, title_width), PAD + title_height + label_height + height + PAD)
  figure = _figure(size)
  left = PAD + (size[0] - width) // 2
  for image, lines in zip(images.values(), label_lines):
    top = PAD + height
    _show(figure, size, image, (left, top - image.shape[0]))
    _text(figure, size, (left + image.shape[1] / 2, top + PAD // 2), lines, ha="center",
          va="bottom")
    left += image.shape[1] + PANEL_GAP
  _text(figure, size, (size[0] / 2, size[1] - PAD), title_lines, ha="center", va="top",
        fontsize=TITLE_SIZE)
  return _save(figure, path)


def _title(measure: _Measure, title: Optional[str],
           width: int) -> Tuple[List[str], int, int]:
  """The title's lines, wrapped to the figure's width or TITLE_WIDTH if wider, and the
  width and height they take with their margins."""
  lines = measure.wrap(title or "", max(width, TITLE_WIDTH) - 2 * PAD, MAX_TITLE_LINES,
                       TITLE_SIZE)
  if not lines:
    return lines, 0, 0
  return (lines, max(measure.width(line, TITLE_SIZE) for line in lines) + 2 * PAD,
          len(lines) * measure.line(TITLE_SIZE) + PAD)


def _checked_images(images, name: str) -> np.ndarray:
  images = np.asarray(images)
  if images.dtype != np.uint8 or images.ndim not in (3, 4) or not len(images) or \
      (images.ndim == 4 and images.shape[3] not in (1, 3)) or 0 in images.shape:
    raise ConfigError(f"{name}: got {images.dtype} {images.shape[1:]}, expected uint8 "
                      f"(H, W) or (H, W, C) images, C 1 or 3")
  return images


def _tile_origin(index: int, cols: int, height: int, width: int,
                 gap: int) -> Tuple[int, int]:
  row, col = divmod(index, cols)
  return row * (height + gap), col * (width + gap)


def _checked_scale(scale: Optional[int], shape: Tuple[int, int], target: int) -> int:
  if scale is None:
    return max(1, target // max(shape))
  if int(scale) != scale or scale < 1:
    raise ConfigError(f"scale: got {scale}, expected a whole number of pixels >= 1")
  return int(scale)


def _upscaled(images: np.ndarray, scale: int) -> np.ndarray:
  return np.repeat(np.repeat(images, scale, axis=1), scale, axis=2)


class _Measure:
  """Text extents in output pixels, as Agg draws them."""

  def __init__(self):
    from matplotlib.backends.backend_agg import RendererAgg

    self._renderer = RendererAgg(1, 1, DPI)
    self._fonts = {}

  def width(self, text: str, size: float = FONT_SIZE) -> int:
    from matplotlib.font_manager import FontProperties

    if not text:
      return 0
    font = self._fonts.setdefault(size, FontProperties(size=size))
    width, _, _ = self._renderer.get_text_width_height_descent(text, font, ismath=False)
    return int(np.ceil(width))

  def line(self, size: float = FONT_SIZE) -> int:
    """Height of one line of a multi-line text (matplotlib's line spacing, 1.2)."""
    return int(np.ceil(1.25 * size * DPI / 72))

  def wrap(self, text: str, width: int, max_lines: int,
           size: float = FONT_SIZE) -> List[str]:
    """`text` broken at spaces into lines at most `width` pixels wide (a longer word is
    broken inside), at most `max_lines` of them, the last ending in "..." if cut."""
    lines = list(itertools.islice(self._lines(text, width, size), max_lines + 1))
    if len(lines) > max_lines:
      last = lines[max_lines - 1]
      while last and self.width(last + "...", size) > width:
        last = last[:-1]
      lines = lines[:max_lines - 1] + [last.rstrip() + "..."]
    return lines

  def _lines(self, text: str, width: int, size: float) -> Iterator[str]:
    for paragraph in text.splitlines():
      current = ""
      for word in paragraph.split():
        candidate = f"{current} {word}" if current else word
        if self.width(candidate, size) <= width:
          current = candidate
          continue
        if current:
          yield current
        current = word
        while self.width(current, size) > width and len(current) > 1:
          cut = self._fitting(current, width, size)
          yield current[:cut]
          current = current[cut:]
      if current:
        yield current

  def _fitting(self, word: str, width: int, size: float) -> int:
    cut = len(word) - 1
    while cut > 1 and self.width(word[:cut], size) > width:
      cut -= 1
    return cut


def _figure(size: Tuple[int, int]):
  from matplotlib.backends.backend_agg import FigureCanvasAgg
  from matplotlib.figure import Figure

  figure = Figure(figsize=(size[0] / DPI, size[1] / DPI), dpi=DPI, facecolor="white")
  FigureCanvasAgg(figure)
  return figure


def _show(figure, size: Tuple[int, int], image: np.ndarray,
          origin: Tuple[float, float]) -> None:
  """Draws `image` one pixel per output pixel (grayscale as equal RGB, so the PNG holds
  its values exactly), its bottom-left corner at `origin` (pixels from the figure's
  bottom-left)."""
  height, width = image.shape[:2]
  ax = figure.add_axes((origin[0] / size[0], origin[1] / size[1], width / size[0],
                        height / size[1]))
  rgb = np.broadcast_to(image.reshape(height, width, -1), (height, width, 3))
  ax.imshow(rgb, interpolation="nearest", aspect="auto", resample=False)
  ax.set_axis_off()


def _text(figure, size: Tuple[int, int], position: Tuple[float, float], lines: List[str],
          fontsize: float = FONT_SIZE, **alignment) -> None:
  if lines:
    figure.text(position[0] / size[0], position[1] / size[1], "\n".join(lines),
                fontsize=fontsize, parse_math=False,
                multialignment=alignment.get("ha", "left"), **alignment)


def _save(figure, path: str) -> str:
  with atomic_path(path) as temp:
    figure.savefig(temp, dpi=DPI, format="png")
  return path
