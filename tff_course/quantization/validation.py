"""Argument checks shared by the NumPy and TensorFlow quantizers."""

from __future__ import annotations

import math
from typing import Optional

from tff_course.errors import ConfigError

MAX_BITS = 32
SMALLEST_NORMAL = 2.0 ** -126
LARGEST_FLOAT32 = (2.0 - 2.0 ** -23) * 2.0 ** 127


def check_nbit(nbit) -> int:
  """nbit as an int in 1..32, or ConfigError."""
  if isinstance(nbit, bool) or not isinstance(nbit, int) or not 1 <= nbit <= MAX_BITS:
    raise ConfigError(f"nbit: got {nbit!r}, expected a whole number of bits from 1 to "
                      f"{MAX_BITS}")
  return nbit


def check_scale(scale: Optional[float]) -> Optional[float]:
  """A given quantization scale must be a finite number > 0 that float32 holds as a
  normal number (2^-126 to about 3.4e38)."""
  if scale is None:
    return None
  if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not (
      math.isfinite(scale) and SMALLEST_NORMAL <= scale <= LARGEST_FLOAT32):
    raise ConfigError(f"adaptive_scale: got {scale!r}, expected a finite number > 0 "
                      f"within float32's normal range, {SMALLEST_NORMAL:.4g} to "
                      f"{LARGEST_FLOAT32:.4g} (or None to use max |w|)")
  return float(scale)


def levels(nbit: int) -> float:
  """The largest quantized integer, 2^n - 1."""
  return float(2 ** nbit - 1)
