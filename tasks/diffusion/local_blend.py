"""Local blending for prompt-to-prompt (Hertz et al. 2022, section 3.2): after each step,
the edited image keeps the source's latents outside the region that the chosen words
attend to, so that only that region changes."""

from __future__ import annotations

from typing import Dict, Sequence, Tuple

import numpy as np

from tasks.diffusion.attention_maps import map_shape, upsample_nearest


def blend_mask(maps: Dict[str, np.ndarray], positions: Sequence[Sequence[int]],
               size: Tuple[int, int], threshold: float) -> np.ndarray:
  """Per prompt, where its words attend: (prompts, H, W) booleans. Every layer's maps
  count, each at the latents' size (the authors' code, for Stable Diffusion, uses only
  the 16x16 layers; the small model has none).

  Args:
    maps: per layer, cross-attention maps (prompts, queries, keys), one step's or a sum
      over steps.
    positions: per prompt, the token positions of its blend words.
    size: (H, W) of the latents.
    threshold: fraction of a prompt's largest value above which a pixel is in.
  """
  from scipy.ndimage import maximum_filter

  total = np.zeros((len(positions),) + tuple(size), np.float32)
  for value in maps.values():
    height, width = map_shape(value.shape[1], size)
    grid = value.reshape(value.shape[0], height, width, value.shape[2])
    words = np.stack([grid[row][..., list(where)].sum(axis=-1)
                      for row, where in enumerate(positions)])
    total += upsample_nearest(words, size)
  total = maximum_filter(total / max(len(maps), 1), size=(1, 3, 3), mode="nearest")
  peak = total.reshape(len(positions), -1).max(axis=1)
  return total > threshold * np.maximum(peak, 1e-12)[:, None, None]


class LocalBlend:
  """Keeps the source's latents outside the blend words' region in every edited row,
  from step int(start * num_steps) on; the region comes from the maps summed over the
  steps so far, as in the authors' code.

  Args:
    positions: per prompt (source first), the token positions of its blend words.
    threshold: as in `blend_mask` (the authors' code uses 0.3).
    start: fraction of the steps before blending begins (the authors' code: 0.2).
  """

  def __init__(self, positions: Sequence[Sequence[int]], *, threshold: float = 0.3,
               start: float = 0.2):
    self.positions = [list(where) for where in positions]
    self.threshold = float(threshold)
    self.start = float(start)

  def __call__(self, latents, maps: Dict[str, np.ndarray], step: int, num_steps: int):
    """The latents after step `step`, blended; unchanged before the start or without
    maps."""
    import tensorflow as tf

    if step < int(self.start * num_steps) or not maps:
      return latents
    values = np.asarray(latents)
    mask = blend_mask(maps, self.positions, values.shape[1:3], self.threshold)
    inside = (mask[:1] | mask[1:])[..., None]
    edited = np.where(inside, values[1:], values[:1])
    return tf.convert_to_tensor(np.concatenate([values[:1], edited]), latents.dtype)
