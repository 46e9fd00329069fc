"""The diffusion noise schedule (Ho et al. 2020) and DDIM's deterministic sampler steps
(Song et al. 2021), as KerasCV's Stable Diffusion uses them: NumPy constants, TF math."""

from __future__ import annotations

import dataclasses
import math

import numpy as np

TRAIN_TIMESTEPS = 1000


@dataclasses.dataclass(frozen=True)
class NoiseSchedule:
  """Betas from `beta_start` to `beta_end` over `timesteps` steps, "linear" (DDPM) or
  "scaled_linear" (linear in sqrt(beta): Stable Diffusion's 0.00085 to 0.012)."""

  beta_start: float = 0.00085
  beta_end: float = 0.012
  kind: str = "scaled_linear"
  timesteps: int = TRAIN_TIMESTEPS

  def __post_init__(self):
    if self.kind not in ("linear", "scaled_linear"):
      raise ValueError(f"kind: got {self.kind!r}, expected 'linear' or 'scaled_linear'")
    if not 0 < self.beta_start < self.beta_end < 1:
      raise ValueError(f"betas: got {self.beta_start} to {self.beta_end}, expected "
                       f"0 < beta_start < beta_end < 1")

  def alphas_cumprod(self) -> np.ndarray:
    """alpha-bar_t = prod_{s <= t} (1 - beta_s), float64, one per training timestep."""
    if self.kind == "linear":
      betas = np.linspace(self.beta_start, self.beta_end, self.timesteps)
    else:
      betas = np.linspace(self.beta_start ** 0.5, self.beta_end ** 0.5, self.timesteps) ** 2
    return np.cumprod(1.0 - betas)


STABLE_DIFFUSION = NoiseSchedule()
DDPM = NoiseSchedule(beta_start=1e-4, beta_end=0.02, kind="linear")


def add_noise(x0, noise, timesteps, alphas_cumprod: np.ndarray):
  """x_t = sqrt(alpha-bar_t) x0 + sqrt(1 - alpha-bar_t) noise, per example's timestep."""
  import tensorflow as tf

  alpha_bar = tf.gather(tf.constant(alphas_cumprod, tf.float32), timesteps)
  alpha_bar = tf.reshape(alpha_bar, [-1] + [1] * (len(x0.shape) - 1))
  return tf.sqrt(alpha_bar) * x0 + tf.sqrt(1.0 - alpha_bar) * noise


def timestep_embedding(timesteps, dim: int, max_period: float = 10000.0):
  """The sinusoidal embedding KerasCV's UNet takes: cos then sin of t times
  max_period^(-i / (dim/2)), shape (batch, dim)."""
  import tensorflow as tf

  half = dim // 2
  frequencies = tf.exp(-math.log(max_period) * tf.range(half, dtype=tf.float32) / half)
  arguments = tf.cast(tf.reshape(timesteps, [-1, 1]), tf.float32) * frequencies[None]
  return tf.concat([tf.cos(arguments), tf.sin(arguments)], axis=1)


def sampling_timesteps(num_steps: int, train_timesteps: int = TRAIN_TIMESTEPS) -> np.ndarray:
  """KerasCV's DDIM timesteps, increasing: 1, 1 + k, ... with k = train_timesteps //
  num_steps (the sampler walks them backwards)."""
  if not 1 <= num_steps <= train_timesteps:
    raise ValueError(f"steps: got {num_steps}, expected 1 to {train_timesteps}")
  return np.arange(1, train_timesteps, train_timesteps // num_steps)


def ddim_step(latent, predicted_noise, alpha_bar: float, alpha_bar_previous: float,
              clip: bool = False):
  """One deterministic DDIM step (eta = 0): the clean sample it predicts, re-noised to
  the previous timestep's level. `clip` keeps the predicted clean sample in [-1, 1]
  (pixel models) and re-noises it with the noise that clipped sample implies."""
  import tensorflow as tf

  predicted_x0 = (latent - math.sqrt(1.0 - alpha_bar) * predicted_noise) / math.sqrt(alpha_bar)
  if clip:
    predicted_x0 = tf.clip_by_value(predicted_x0, -1.0, 1.0)
    predicted_noise = ((latent - math.sqrt(alpha_bar) * predicted_x0)
                       / math.sqrt(1.0 - alpha_bar))
  return (math.sqrt(alpha_bar_previous) * predicted_x0
          + math.sqrt(1.0 - alpha_bar_previous) * predicted_noise)
