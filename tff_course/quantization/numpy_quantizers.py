"""The quantizers in NumPy (float32 arithmetic, as the TensorFlow versions)."""

from __future__ import annotations

from typing import Optional

import numpy as np

from tff_course.errors import DataError
from tff_course.quantization.validation import SMALLEST_NORMAL, check_nbit, check_scale, levels


def quantize(x, nbit: int, *, stochastic: bool = False,
             rng: Optional[np.random.Generator] = None, noise=None) -> np.ndarray:
  """Fixed-point quantization of values in [0, 1] to n bits: round(x L) / L, L = 2^n - 1.

  Deterministic rounding is to the nearest level (ties to even). Stochastic rounding
  is floor(x L + u) / L with u uniform in [0, 1), given as `noise` or drawn from `rng`
  (a fresh `np.random.default_rng()` when neither is given: then the result is not
  reproducible), and equals x in expectation. Values outside [0, 1] saturate at 0 and
  1. Subnormal inputs count as zero (see `flush_subnormal`).

  Raises:
    ConfigError: nbit outside 1..32.
    DataError: x holds NaN or infinity.
  """
  x = flush_subnormal(_finite_float32(x, "x"))
  scale = np.float32(levels(check_nbit(nbit)))
  if stochastic:
    u = uniform_noise(x.shape, rng, 0.0) if noise is None else np.asarray(noise, np.float32)
    steps = np.floor(x * scale + u)
  else:
    steps = np.round(x * scale)
  return np.clip(steps, np.float32(0), scale) / scale


def dorefa_g(w, nbit: int, adaptive_scale: Optional[float] = None, *,
             rng: Optional[np.random.Generator] = None, noise=None) -> np.ndarray:
  """DoReFa's stochastic gradient quantization, unbiased in expectation.

  With s = `adaptive_scale` or max |w|: y = (w / s) / 2 + 1/2 maps w to [0, 1];
  uniform noise of one quantization step, u / (2^n - 1) with u in [-1/2, 1/2), is
  added; y is quantized to n bits and mapped back: s (2 quantize(y) - 1). w / s is
  clipped to [-2, 2], where y saturates whatever the noise, so that a scale far below
  |w| cannot overflow. The noise is `noise` when given, else drawn from `rng`, else
  from a fresh `np.random.default_rng()` (not reproducible: pass `rng` for repeatable
  draws). An all-zero w is returned as zeros.

  Subnormal float32 values (|v| < 2^-126) in w and in the result are zero, as in
  TensorFlow, which flushes them on CPU: NumPy and TensorFlow agree bit for bit (w =
  1e-45 gives 0, not +-1e-45).

  Raises:
    ConfigError: nbit outside 1..32, or a given scale that is not a normal float32 > 0.
    DataError: w holds NaN or infinity.
  """
  w = flush_subnormal(_finite_float32(w, "w"))
  nbit = check_nbit(nbit)
  scale = check_scale(adaptive_scale)
  s = np.float32(scale) if scale is not None else (
      np.max(np.abs(w)) if w.size else np.float32(0))
  if s == 0:
    return np.zeros_like(w)
  u = uniform_noise(w.shape, rng, -0.5) if noise is None else np.asarray(noise, np.float32)
  with np.errstate(over="ignore"):
    ratio = np.clip(w / s, np.float32(-2), np.float32(2))
  y = ratio * np.float32(0.5) + np.float32(0.5) + u / np.float32(levels(nbit))
  return flush_subnormal(s * (np.float32(2) * quantize(y, nbit) - np.float32(1)))


def uniform_noise(shape, rng: Optional[np.random.Generator], low: float) -> np.ndarray:
  """float32 uniform noise in [low, low + 1), from `rng` or, when None, a fresh
  `np.random.default_rng()`."""
  rng = np.random.default_rng() if rng is None else rng
  return (rng.random(shape, dtype=np.float32) + np.float32(low)).astype(np.float32)


def flush_subnormal(values: np.ndarray) -> np.ndarray:
  """float32 values with the subnormal ones (0 < |v| < 2^-126) set to zero."""
  return np.where(np.abs(values) < SMALLEST_NORMAL, np.float32(0), values).astype(np.float32)


def _finite_float32(values, name: str) -> np.ndarray:
  array = np.asarray(values, dtype=np.float32)
  if not np.all(np.isfinite(array)):
    bad = array[~np.isfinite(array)].ravel()[0]
    raise DataError(f"{name}: got a non-finite value ({bad}); quantization needs finite "
                    f"numbers")
  return array
