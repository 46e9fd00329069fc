"""Per-token cross-attention maps as images (Hertz et al. 2022, figure 4): for each token
of a prompt, where in the image it was attended to, averaged over the layers at one
resolution and over the sampling steps, with the word under it.

Example:
  result = prompt_to_prompt.edit(model, "a photo of a cat", "a photo of a dog")
  save_token_maps("dog.png", result.maps, model.tokenizer, result.tokens[1], row=1,
                  image=result.edited)
"""

from __future__ import annotations

import math
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from tff_course.atomic import atomic_path
from tff_course.errors import ConfigError


def map_shape(queries: int, size: Tuple[int, int]) -> Tuple[int, int]:
  """(h, w) of a feature map with `queries` = h * w positions and the aspect ratio of
  `size` (H, W), as the UNet's halvings give it."""
  height = int(round(math.sqrt(queries * size[0] / size[1])))
  if height < 1 or queries % height:
    raise ConfigError(f"queries: got {queries}, expected h * w for a map shaped like "
                      f"{size[0]}x{size[1]}")
  return height, queries // height


def upsample_nearest(maps: np.ndarray, size: Tuple[int, int]) -> np.ndarray:
  """(n, h, w) maps at (n, H, W), each pixel taking the value of the cell it falls in."""
  rows = np.arange(size[0]) * maps.shape[1] // size[0]
  columns = np.arange(size[1]) * maps.shape[2] // size[1]
  return maps[:, rows][:, :, columns]


def token_words(tokenizer, ids: Sequence[int]) -> List[str]:
  """Each token id as its text, without the end-of-word marker `</w>`."""
  return [tokenizer.decode([int(token)]).strip() for token in ids]


def prompt_positions(tokenizer, ids: Sequence[int]) -> List[int]:
  """Positions of a padded prompt's word tokens: after the start token, up to the first
  end token."""
  ids = list(ids)
  end = ids.index(tokenizer.end_of_text) if tokenizer.end_of_text in ids else len(ids)
  return list(range(1, end))


def token_maps(maps: np.ndarray, positions: Sequence[int],
               image_size: Tuple[int, int]) -> np.ndarray:
  """(len(positions), H, W) maps of the given tokens from one prompt's averaged
  cross-attention (queries, keys), each scaled to [0, 1] by its largest value."""
  height, width = map_shape(maps.shape[0], image_size)
  grid = maps.reshape(height, width, maps.shape[1])
  chosen = np.moveaxis(grid[..., list(positions)], -1, 0).astype(np.float32)
  chosen = upsample_nearest(chosen, image_size)
  return chosen / np.maximum(chosen.max(axis=(1, 2)), 1e-12)[:, None, None]


def choose_resolution(maps: Dict[int, np.ndarray], resolution: Optional[int],
                      image_size: Tuple[int, int]) -> int:
  """The number of queries of the maps whose height is `resolution` (default: the
  finest there is).

  Raises:
    ConfigError: no maps have that height.
  """
  heights = {map_shape(queries, image_size)[0]: queries for queries in maps}
  if resolution is None:
    return max(maps)
  if resolution not in heights:
    raise ConfigError(f"resolution: got {resolution}, expected one of "
                      f"{sorted(heights)} (the heights of the recorded maps)")
  return heights[resolution]


def save_token_maps(path: str, maps: Dict[int, np.ndarray], tokenizer, ids: Sequence[int],
                    *, row: int = 0, resolution: Optional[int] = None,
                    image: Optional[np.ndarray] = None, title: str = "") -> str:
  """Draws one prompt's per-token maps as a row of panels, the word under each (the
  generated image first when given), and writes the PNG atomically.

  Args:
    path: the PNG to write.
    maps: averaged cross-attention maps per number of queries, (prompts, queries, keys)
      (`Store.average_maps()`).
    tokenizer: the CLIP tokenizer that made `ids`.
    ids: the prompt's padded token ids.
    row: which prompt of `maps`.
    resolution: height of the maps to draw (default: the finest recorded).
    image: the generated image, uint8 (H, W, C), drawn first; its size sets the maps'.
    title: a title above the row.

  Returns:
    `path`.
  """
  size = image.shape[:2] if image is not None else (256, 256)
  queries = choose_resolution(maps, resolution, size)
  positions = prompt_positions(tokenizer, ids)
  panels = token_maps(maps[queries][row], positions, size)
  words = token_words(tokenizer, [ids[i] for i in positions])
  figure = _figure(len(panels) + (image is not None))
  axes = figure.subplots(1, len(panels) + (image is not None), squeeze=False)[0]
  if image is not None:
    _panel(axes[0], image[..., 0] if image.shape[-1] == 1 else image, "image",
           gray=image.shape[-1] == 1)
    axes = axes[1:]
  for ax, panel, word in zip(axes, panels, words):
    _panel(ax, panel, word, gray=False)
  if title:
    figure.suptitle(title, fontsize=9)
  with atomic_path(path) as temp:
    figure.savefig(temp, dpi=100)
  return path


def _figure(panels: int):
  from matplotlib.backends.backend_agg import FigureCanvasAgg
  from matplotlib.figure import Figure

  figure = Figure(figsize=(1.4 * max(panels, 1) + 0.2, 1.9), layout="constrained")
  FigureCanvasAgg(figure)
  return figure


def _panel(ax, values: np.ndarray, word: str, *, gray: bool) -> None:
  if gray:
    ax.imshow(values, cmap="gray", vmin=0, vmax=255, interpolation="nearest")
  else:
    ax.imshow(values, cmap="inferno", vmin=0.0, vmax=1.0, interpolation="nearest")
  ax.set_xticks([])
  ax.set_yticks([])
  ax.set_xlabel(word, fontsize=9)
