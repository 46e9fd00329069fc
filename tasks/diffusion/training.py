"""Training a text-to-image model to predict the noise added to its latents: the loss
(Ho et al. 2020's simplified objective, weighted per example so that DreamBooth's prior
term is the same code), one traced optimisation step, and checkpoints to resume from."""

from __future__ import annotations

import dataclasses
from typing import Callable, Dict, Optional, Sequence

import numpy as np

from tasks.diffusion.parts import TextToImage
from tasks.diffusion.resumable import Checkpoints, recent_mean, run_steps
from tasks.diffusion.schedule import add_noise

CHECKPOINT_PREFIX = "step"


@dataclasses.dataclass(frozen=True)
class Batch:
  """One training batch: clean latents, their prompts' token ids, the noise and integer
  timesteps drawn for them, and each example's weight in the loss."""

  latents: np.ndarray
  tokens: np.ndarray
  noise: np.ndarray
  timesteps: np.ndarray
  weights: np.ndarray


def per_example_mse(predicted, noise):
  """Mean squared error of each example's noise prediction, shape (batch,)."""
  import tensorflow as tf

  axes = list(range(1, len(noise.shape)))
  return tf.reduce_mean(tf.square(tf.cast(predicted, tf.float32) - noise), axis=axes)


def denoising_loss(model: TextToImage, batch: Batch, training: bool = True):
  """sum_i weight_i * ||eps_i - eps_theta(x_t_i, t_i, c_i)||^2 / size, with x_t the
  latents noised to their timesteps."""
  import tensorflow as tf

  noisy = add_noise(batch.latents, batch.noise, batch.timesteps, model.alphas_cumprod)
  context = model.encode_tokens(batch.tokens, training=training)
  predicted = model.predict_noise(noisy, batch.timesteps, context, training=training)
  return tf.reduce_sum(batch.weights * per_example_mse(predicted, batch.noise))


def draw_noise(rng: np.random.Generator, latents: np.ndarray, train_timesteps: int):
  """Standard normal noise like `latents` and timesteps uniform in [0, train_timesteps)."""
  noise = rng.standard_normal(latents.shape).astype(np.float32)
  timesteps = rng.integers(0, train_timesteps, size=len(latents)).astype(np.int32)
  return noise, timesteps


class DenoisingTrainer:
  """AdamW on the noise-prediction loss of chosen networks, with checkpoints.

  Args:
    model: the model trained.
    networks: names of the Keras models in `model.networks` whose weights change.
    learning_rate: AdamW's learning rate.
    weight_decay: AdamW's decoupled weight decay.
    clip_norm: gradients are clipped to this global norm.
    checkpoint_dir: where checkpoints are written and resumed from (None: none).
  """

  def __init__(self, model: TextToImage, networks: Sequence[str], *, learning_rate: float,
               weight_decay: float = 1e-2, clip_norm: float = 1.0,
               checkpoint_dir: Optional[str] = None):
    import tensorflow as tf

    self.model = model
    self.networks = tuple(networks)
    self.variables = [v for name in self.networks
                      for v in model.networks[name].trainable_variables]
    self.optimizer = tf.keras.optimizers.AdamW(learning_rate=learning_rate,
                                               weight_decay=weight_decay,
                                               global_clipnorm=clip_norm)
    self.checkpoints = Checkpoints(checkpoint_dir, CHECKPOINT_PREFIX,
                                   optimizer=self.optimizer, **model.networks)
    self.step = self.checkpoints.step
    self._train_step = tf.function(self._apply, reduce_retracing=True)

  def _apply(self, latents, tokens, noise, timesteps, weights):
    import tensorflow as tf

    batch = Batch(latents, tokens, noise, timesteps, weights)
    with tf.GradientTape() as tape:
      loss = denoising_loss(self.model, batch, training=True)
    gradients = tape.gradient(loss, self.variables)
    self.optimizer.apply_gradients(zip(gradients, self.variables))
    self.step.assign_add(1)
    return loss

  def train_step(self, batch: Batch) -> float:
    """One optimisation step; returns the batch's loss before it."""
    return float(self._train_step(batch.latents, batch.tokens, batch.noise,
                                  batch.timesteps, batch.weights))

  def run(self, total_steps: int, batch_at: Callable[[int], Batch], *,
          checkpoint_every: int = 0, progress: bool = True, description: str = "training",
          on_step: Optional[Callable[[int, float], None]] = None) -> Dict[str, float]:
    """Trains from the checkpointed step to `total_steps`; batch k is `batch_at(k)`, so
    a resumed run sees the batches an uninterrupted one would. Checkpoints every
    `checkpoint_every` steps (0: only at the end)."""
    done, losses = run_steps(lambda step: self.train_step(batch_at(step)), self.checkpoints,
                             total_steps, checkpoint_every=checkpoint_every,
                             progress=progress, description=description, on_step=on_step)
    return {"steps": total_steps, "resumed_at": done, "final_loss": recent_mean(losses)}
