"""Defenses as transforms of the shared gradient, the ones DLG (Zhu et al., 2019) tests.

- "gaussian", "laplacian": add zero-mean noise of scale sigma = `strength` (the normal's
  standard deviation; the Laplace distribution's scale b, as in DLG's code).
- "prune": zero the ceil(`strength` x size) smallest-magnitude entries of each tensor
  (DLG's gradient compression), `strength` in [0, 1].
- "quantize": DoReFa's stochastic n-bit gradient quantizer (Zhou et al., 2016) from
  `tff_course.quantization`, per tensor with scale max |g|, n = `strength` bits.
- "none": the gradient unchanged.

Randomness comes from TensorFlow's stateless generators seeded by (seed, tensor index):
the same seed gives the same defended gradient.
"""

from __future__ import annotations

import enum
import math
from typing import Dict, List, Sequence

import numpy as np
import tensorflow as tf

from tff_course.errors import ConfigError
from tff_course.quantization import check_nbit, dorefa_g_tf


class Defense(enum.Enum):
  NONE = "none"
  GAUSSIAN = "gaussian"
  LAPLACIAN = "laplacian"
  PRUNE = "prune"
  QUANTIZE = "quantize"


def check_defense(kind: str, strength):
  """(Defense, strength) after checking the strength suits the kind, or ConfigError."""
  try:
    defense = Defense(kind)
  except ValueError:
    raise ConfigError(f"defense: got {kind!r}, expected one of "
                      f"{', '.join(d.value for d in Defense)}") from None
  if defense is Defense.QUANTIZE:
    if isinstance(strength, float) and strength.is_integer():
      strength = int(strength)
    return defense, check_nbit(strength)
  if isinstance(strength, bool) or not isinstance(strength, (int, float)) or not (
      math.isfinite(strength) and strength >= 0):
    raise ConfigError(f"strength: got {strength!r} for {defense.value}, expected a finite "
                      f"number >= 0")
  if defense is Defense.PRUNE and strength > 1:
    raise ConfigError(f"strength: got {strength!r} for prune, expected a fraction in [0, 1]")
  return defense, float(strength)


def defense_method(grads: Sequence, kind: str, strength, seed: int) -> List[tf.Tensor]:
  """The shared gradient after the defense `kind` of the given `strength`.

  Args:
    grads: the gradient, one tensor per trainable variable.
    kind: "none", "gaussian", "laplacian", "prune" or "quantize".
    strength: sigma for noise, the pruned fraction, or the number of bits.
    seed: an integer seed for the noise and the stochastic rounding.

  Raises:
    ConfigError: unknown kind, or a strength outside its range.
  """
  defense, strength = check_defense(kind, strength)
  transform = {Defense.NONE: lambda g, s: g,
               Defense.GAUSSIAN: lambda g, s: g + strength * tf.random.stateless_normal(
                   tf.shape(g), s),
               Defense.LAPLACIAN: lambda g, s: g + strength * laplace_noise(tf.shape(g), s),
               Defense.PRUNE: lambda g, s: prune_smallest(g, strength),
               Defense.QUANTIZE: lambda g, s: dorefa_g_tf(g, strength, seed=s)}[defense]
  return [transform(tf.convert_to_tensor(g, tf.float32), tf.constant([seed, index], tf.int64))
          for index, g in enumerate(grads)]


def laplace_noise(shape, seed):
  """Standard Laplace noise (scale 1) by inverting the CDF of a stateless uniform draw."""
  u = tf.random.stateless_uniform(shape, seed, minval=-0.5, maxval=0.5)
  return -tf.sign(u) * tf.math.log1p(-2.0 * tf.abs(u))


def pruned_count(size: int, fraction: float) -> int:
  """How many entries pruning `fraction` of `size` zeroes: ceil(fraction x size)."""
  return min(size, math.ceil(fraction * size - 1e-9))


def prune_smallest(gradient, fraction: float):
  """`gradient` with its ceil(fraction x size) smallest-magnitude entries set to zero
  (ties broken by position, as a stable sort)."""
  flat = tf.reshape(gradient, [-1])
  count = pruned_count(int(flat.shape[0]), fraction)
  order = tf.argsort(tf.abs(flat), stable=True)
  keep = tf.tensor_scatter_nd_update(tf.ones_like(flat), order[:count, None],
                                     tf.zeros([count]))
  return tf.reshape(flat * keep, tf.shape(gradient))


def gradient_change(gradient: Sequence, defended: Sequence) -> Dict[str, float]:
  """What a defense did to the gradient: its relative distortion ||g' - g|| / ||g|| and
  the fraction of the defended gradient's entries that are non-zero."""
  original = np.concatenate([np.ravel(np.asarray(g, np.float64)) for g in gradient])
  changed = np.concatenate([np.ravel(np.asarray(g, np.float64)) for g in defended])
  return {"relative_distortion": float(np.linalg.norm(changed - original) /
                                       np.linalg.norm(original)),
          "nonzero_fraction": float(np.mean(changed != 0))}
