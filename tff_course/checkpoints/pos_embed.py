"""A ViT's position embedding resized to another grid of patches, as DINO resizes it.

DINO's `interpolate_pos_encoding` keeps the class token's embedding and resizes the G x G
grid of patch embeddings to n x n with PyTorch's `F.interpolate(mode="bicubic",
align_corners=False, scale_factor=(n + 0.1) / G)`. The 0.1 is there so that
floor(G * scale) comes out as n despite rounding, but because a scale factor is given,
PyTorch samples output i at (i + 0.5) * G / (n + 0.1) - 0.5 on the input grid, not at
(i + 0.5) * G / n - 0.5 as `F.interpolate(size=n)` would: the samples stop short of the
input's far edge by G * 0.1 / (n + 0.1) cells (0.67 for n = 2). This module reproduces
that sampling and PyTorch's bicubic kernel in NumPy (float64, cast back): Keys' cubic
convolution with a = -0.75, taps past the border clamped to the edge value; it agrees
with PyTorch to float32 rounding (tests/fixtures/torch/pos_embed.npz). It does not use
`tf.image.resize(method="bicubic")`, whose kernel takes a = -0.5 and renormalizes its
weights at the border: with DINO's sampling left out as well, that differs from DINO by
8-23 % of the range of a random embedding. timm resamples differently again (by size,
antialiased when shrinking); checkpoints converted here follow DINO.
"""

from __future__ import annotations

import math
from typing import Dict, Mapping, Optional, Tuple

import numpy as np

from tff_course.errors import DataError

CUBIC_A = -0.75
DINO_OFFSET = 0.1


def bicubic_matrix(size_in: int, size_out: int, scale: float) -> np.ndarray:
  """(size_out, size_in) weights of PyTorch's 1-D bicubic interpolation (align_corners
  False): output i reads the input at (i + 0.5) * scale - 0.5."""
  source = (np.arange(size_out) + 0.5) * scale - 0.5
  base = np.floor(source)
  t = source - base
  weights = np.stack([_cubic_far(t + 1), _cubic_near(t), _cubic_near(1 - t),
                      _cubic_far(2 - t)], axis=1)
  taps = np.clip(base.astype(int)[:, None] + np.arange(-1, 3), 0, size_in - 1)
  matrix = np.zeros((size_out, size_in))
  np.add.at(matrix, (np.repeat(np.arange(size_out), 4), taps.ravel()), weights.ravel())
  return matrix


def interpolate_pos_embed(pos_embed: np.ndarray, grid: int) -> np.ndarray:
  """(1, 1 + G * G, width) -> (1, 1 + grid * grid, width), as DINO's
  interpolate_pos_encoding (see the module docstring); unchanged when grid is G.

  Raises:
    DataError: the patch positions do not form a square grid.
  """
  tokens, width = pos_embed.shape[1], pos_embed.shape[2]
  size = _square_side(tokens - 1)
  if size is None:
    raise DataError(f"pos_embed: {tokens - 1} patch positions, expected a square grid")
  if size == grid:
    return pos_embed
  matrix = bicubic_matrix(size, grid, size / (grid + DINO_OFFSET))
  patches = pos_embed[0, 1:].reshape(size, size, width).astype(np.float64)
  resized = np.einsum("ir,js,rsc->ijc", matrix, matrix, patches)
  return np.concatenate([pos_embed[:, :1],
                         resized.reshape(1, grid * grid, width).astype(pos_embed.dtype)], 1)


def fit_pos_embed(state: Mapping[str, np.ndarray],
                  expected: Mapping[str, Tuple[int, ...]]) -> Dict[str, np.ndarray]:
  """`state` with "pos_embed" resized to the grid of `expected["pos_embed"]`, when both
  are square grids of the same width; otherwise `state` as it is (`check_state_dict`
  then names what differs)."""
  found, shape = state.get("pos_embed"), expected.get("pos_embed")
  if (found is None or shape is None or found.ndim != 3 or found.shape[0] != 1
      or found.shape[2] != shape[2] or found.shape[1] == shape[1]):
    return dict(state)
  grid = _square_side(shape[1] - 1)
  if grid is None or _square_side(found.shape[1] - 1) is None:
    return dict(state)
  return {**state, "pos_embed": interpolate_pos_embed(found, grid)}


def _square_side(count: int) -> Optional[int]:
  side = math.isqrt(max(count, 0))
  return side if side * side == count and side > 0 else None


def _cubic_near(x: np.ndarray) -> np.ndarray:
  return ((CUBIC_A + 2) * x - (CUBIC_A + 3)) * x * x + 1


def _cubic_far(x: np.ndarray) -> np.ndarray:
  return ((CUBIC_A * x - 5 * CUBIC_A) * x + 8 * CUBIC_A) * x - 4 * CUBIC_A
