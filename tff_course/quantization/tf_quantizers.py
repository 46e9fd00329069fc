"""The quantizers in TensorFlow, equal to the NumPy versions for the same random draw."""

from __future__ import annotations

from typing import Optional

import tensorflow as tf

from tff_course.quantization.validation import check_nbit, check_scale, levels


def quantize_tf(x, nbit: int, *, stochastic: bool = False, seed=None, noise=None):
  """`quantize` in TensorFlow; stochastic rounding draws from the stateless `seed`
  (shape [2] integers) unless `noise` is given. Non-finite input fails a TF check."""
  x = _finite_float32(x, "x")
  scale = tf.constant(levels(check_nbit(nbit)), tf.float32)
  if stochastic:
    u = uniform_noise_tf(tf.shape(x), seed, 0.0) if noise is None else tf.cast(noise, tf.float32)
    steps = tf.floor(x * scale + u)
  else:
    steps = tf.round(x * scale)
  return tf.clip_by_value(steps, 0.0, scale) / scale


def dorefa_g_tf(w, nbit: int, adaptive_scale: Optional[float] = None, *, seed=None,
                noise=None):
  """`dorefa_g` in TensorFlow; the noise comes from the stateless `seed` unless given."""
  w = _finite_float32(w, "w")
  nbit = check_nbit(nbit)
  scale = check_scale(adaptive_scale)
  s = (tf.constant(scale, tf.float32) if scale is not None else
       tf.reduce_max(tf.abs(w)) if w.shape.num_elements() != 0 else tf.constant(0.0))
  u = uniform_noise_tf(tf.shape(w), seed, -0.5) if noise is None else tf.cast(noise, tf.float32)
  y = w / (2.0 * s) + 0.5 + u / tf.constant(levels(nbit), tf.float32)
  quantized = 2.0 * s * (quantize_tf(tf.where(s > 0, y, 0.5), nbit) - 0.5)
  return tf.where(s > 0, quantized, tf.zeros_like(w))


def uniform_noise_tf(shape, seed, low: float):
  """float32 uniform noise in [low, low + 1) from a stateless seed."""
  if seed is None:
    raise ValueError("seed: a stateless seed (two integers) is needed for stochastic "
                     "rounding when no noise is given")
  return tf.random.stateless_uniform(shape, seed=seed, dtype=tf.float32) + low


def _finite_float32(values, name: str):
  values = tf.cast(values, tf.float32)
  return tf.debugging.assert_all_finite(
      values, f"{name}: got a non-finite value; quantization needs finite numbers")
