"""The quantizers in TensorFlow, equal to the NumPy versions for the same random draw."""

from __future__ import annotations

from typing import Optional

import tensorflow as tf

from tff_course.quantization.validation import SMALLEST_NORMAL, check_nbit, check_scale, levels


def quantize_tf(x, nbit: int, *, stochastic: bool = False, seed=None, noise=None):
  """`quantize` in TensorFlow; stochastic rounding uses `noise` when given, else draws
  from the stateless `seed` (shape [2] integers), else from a seed drawn anew at every
  execution (not reproducible). Non-finite input fails a TF check."""
  x = flush_subnormal_tf(_finite_float32(x, "x"))
  scale = tf.constant(levels(check_nbit(nbit)), tf.float32)
  if stochastic:
    u = uniform_noise_tf(tf.shape(x), seed, 0.0) if noise is None else tf.cast(noise, tf.float32)
    steps = tf.floor(x * scale + u)
  else:
    steps = tf.round(x * scale)
  return tf.clip_by_value(steps, 0.0, scale) / scale


def dorefa_g_tf(w, nbit: int, adaptive_scale: Optional[float] = None, *, seed=None,
                noise=None):
  """`dorefa_g` in TensorFlow, subnormals flushed as there; the noise is `noise` when
  given, else drawn from the stateless `seed`, else from a seed drawn anew at every
  execution (not reproducible: pass `seed` for repeatable draws)."""
  w = flush_subnormal_tf(_finite_float32(w, "w"))
  nbit = check_nbit(nbit)
  scale = check_scale(adaptive_scale)
  s = (tf.constant(scale, tf.float32) if scale is not None else
       tf.reduce_max(tf.abs(w)) if w.shape.num_elements() != 0 else tf.constant(0.0))
  u = uniform_noise_tf(tf.shape(w), seed, -0.5) if noise is None else tf.cast(noise, tf.float32)
  safe_s = tf.where(s > 0, s, 1.0)
  y = (tf.clip_by_value(w / safe_s, -2.0, 2.0) * 0.5 + 0.5
       + u / tf.constant(levels(nbit), tf.float32))
  quantized = flush_subnormal_tf(s * (2.0 * quantize_tf(y, nbit) - 1.0))
  return tf.where(s > 0, quantized, tf.zeros_like(w))


def uniform_noise_tf(shape, seed, low: float):
  """float32 uniform noise in [low, low + 1) from a stateless seed; when `seed` is None,
  from a seed that TensorFlow's global generator draws at every execution."""
  if seed is None:
    seed = tf.random.uniform([2], maxval=tf.int64.max, dtype=tf.int64)
  return tf.random.stateless_uniform(shape, seed=seed, dtype=tf.float32) + low


def flush_subnormal_tf(values):
  """float32 values with the subnormal ones (0 < |v| < 2^-126) set to zero, whatever
  the device's floating-point mode."""
  return tf.where(tf.abs(values) < SMALLEST_NORMAL, tf.zeros_like(values), values)


def _finite_float32(values, name: str):
  values = tf.cast(values, tf.float32)
  return tf.debugging.assert_all_finite(
      values, f"{name}: got a non-finite value; quantization needs finite numbers")
