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
from tasks.diffusion.tokenizer import CONTEXT_LENGTH

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


class TracedStep:
  """One AdamW step on the noise-prediction loss of `networks`, traced once (without
  AutoGraph, which it does not need) for batches of `batch_size` examples (None: any
  number; a slower trace); its optimizer is built before tracing, so it traces once, not
  twice; `reset` gives it a fresh optimizer's state."""

  def __init__(self, model: TextToImage, networks: Sequence[str], weight_decay: float,
               clip_norm: float, batch_size: Optional[int] = None):
    import tensorflow as tf

    self.model = model
    self.variables = [v for name in networks for v in model.networks[name].trainable_variables]
    self.optimizer = tf.keras.optimizers.AdamW(weight_decay=weight_decay,
                                               global_clipnorm=clip_norm)
    self.optimizer.build(self.variables)
    self._apply = tf.function(self._step, input_signature=batch_signature(model, batch_size),
                              autograph=False)

  def reset(self, learning_rate: float) -> None:
    """Zero moments and step count, and `learning_rate`: a new optimizer's state."""
    import tensorflow as tf

    for variable in self.optimizer.variables:
      variable.assign(tf.zeros_like(variable))
    self.optimizer.learning_rate = learning_rate

  def __call__(self, batch: Batch) -> float:
    """One optimisation step; returns the batch's loss before it."""
    return float(self._apply(batch.latents, batch.tokens, batch.noise, batch.timesteps,
                             batch.weights))

  def _step(self, latents, tokens, noise, timesteps, weights):
    import tensorflow as tf

    with tf.GradientTape() as tape:
      loss = denoising_loss(self.model, Batch(latents, tokens, noise, timesteps, weights),
                            training=True)
    gradients = tape.gradient(loss, self.variables)
    self.optimizer.apply_gradients(zip(gradients, self.variables))
    return loss


def batch_signature(model: TextToImage, batch_size: Optional[int] = None) -> list:
  """TensorSpecs of a Batch's fields for `model`, `batch_size` examples (None: any
  number)."""
  import tensorflow as tf

  latents = tf.TensorSpec((batch_size,) + tuple(model.latent_shape), tf.float32)
  return [latents, tf.TensorSpec((batch_size, CONTEXT_LENGTH), tf.int32), latents,
          tf.TensorSpec((batch_size,), tf.int32), tf.TensorSpec((batch_size,), tf.float32)]


class DenoisingTrainer:
  """AdamW on the noise-prediction loss of chosen networks, with checkpoints.

  The traced step and its optimizer are made once per model, networks, weight decay, clip
  norm and batch size (`model.cached`) and start afresh with each trainer: a model trains
  under one trainer at a time, and its later trainers skip the tracing.

  Args:
    model: the model trained.
    networks: names of the Keras models in `model.networks` whose weights change.
    learning_rate: AdamW's learning rate.
    weight_decay: AdamW's decoupled weight decay.
    clip_norm: gradients are clipped to this global norm.
    batch_size: examples in every batch, when they all have as many (a faster trace);
      None: any number.
    checkpoint_dir: where checkpoints are written and resumed from (None: none).
  """

  def __init__(self, model: TextToImage, networks: Sequence[str], *, learning_rate: float,
               weight_decay: float = 1e-2, clip_norm: float = 1.0,
               batch_size: Optional[int] = None, checkpoint_dir: Optional[str] = None):
    self.model = model
    self.networks = tuple(networks)
    key = (f"train_step/{','.join(self.networks)}/{float(weight_decay)!r}/"
           f"{float(clip_norm)!r}/{batch_size}")
    self._traced = model.cached(key, lambda: TracedStep(model, self.networks, weight_decay,
                                                        clip_norm, batch_size))
    self._traced.reset(learning_rate)
    self.variables = self._traced.variables
    self.optimizer = self._traced.optimizer
    self.checkpoints = Checkpoints(checkpoint_dir, CHECKPOINT_PREFIX,
                                   optimizer=self.optimizer, **model.networks)
    self.step = self.checkpoints.step

  def train_step(self, batch: Batch) -> float:
    """One optimisation step; returns the batch's loss before it."""
    loss = self._traced(batch)
    self.step.assign_add(1)
    return loss

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
