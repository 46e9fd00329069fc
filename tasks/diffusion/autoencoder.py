"""The small model's first stage, as Stable Diffusion's VAE is to it: an autoencoder
trained to reconstruct images through latents 4 times smaller, then the scale that gives
its latents unit variance (Stable Diffusion's 0.18215 was found the same way)."""

from __future__ import annotations

from typing import Dict, Optional

import numpy as np

from tasks.diffusion.parts import to_unit_range
from tasks.diffusion.resumable import Checkpoints, recent_mean, run_steps

CHECKPOINT_PREFIX = "ckpt"


class AutoencoderTrainer:
  """Adam on the reconstruction's mean squared error, with resumable checkpoints.

  Args:
    encoder, decoder: the Keras networks (`build_image_encoder`, `build_decoder`).
    learning_rate: Adam's learning rate.
    checkpoint_dir: where checkpoints go (None: none).
  """

  def __init__(self, encoder, decoder, *, learning_rate: float = 1e-3,
               checkpoint_dir: Optional[str] = None):
    import tensorflow as tf

    self.encoder, self.decoder = encoder, decoder
    self.variables = encoder.trainable_variables + decoder.trainable_variables
    self.optimizer = tf.keras.optimizers.Adam(learning_rate)
    self.optimizer.build(self.variables)
    self.checkpoints = Checkpoints(checkpoint_dir, CHECKPOINT_PREFIX,
                                   optimizer=self.optimizer, encoder=encoder, decoder=decoder)
    self.step = self.checkpoints.step
    self._train_step = tf.function(self._apply)

  def _apply(self, images):
    import tensorflow as tf

    with tf.GradientTape() as tape:
      reconstructed = self.decoder(self.encoder(images, training=True), training=True)
      loss = tf.reduce_mean(tf.square(reconstructed - images))
    self.optimizer.apply_gradients(zip(tape.gradient(loss, self.variables), self.variables))
    self.step.assign_add(1)
    return loss

  def run(self, images: np.ndarray, total_steps: int, *, batch_size: int, seed: int,
          checkpoint_every: int = 0, progress: bool = True) -> Dict[str, float]:
    """Trains to `total_steps` on uint8 `images`, resuming from the latest checkpoint;
    batch k is drawn from (seed, k), so a resumed run sees the same batches."""
    def step(index: int) -> float:
      rows = np.random.default_rng([seed, index]).integers(0, len(images), batch_size)
      return float(self._train_step(to_unit_range(images[rows])))

    done, losses = run_steps(step, self.checkpoints, total_steps,
                             checkpoint_every=checkpoint_every, progress=progress,
                             description="autoencoder", metric="mse")
    return {"steps": total_steps, "resumed_at": done, "final_mse": recent_mean(losses)}


def encode_images(encoder, images: np.ndarray, batch_size: int = 500) -> np.ndarray:
  """Unscaled latents of uint8 images, float32, in batches."""
  import tensorflow as tf

  encode = tf.function(lambda x: encoder(x, training=False))
  parts = [encode(to_unit_range(images[start:start + batch_size])).numpy()
           for start in range(0, len(images), batch_size)]
  return np.concatenate(parts, axis=0)


def latent_scale(latents: np.ndarray) -> float:
  """1 / standard deviation of the latents: what makes them unit-variance."""
  deviation = float(np.std(latents))
  if not np.isfinite(deviation) or deviation == 0.0:
    raise ValueError(f"latents: standard deviation {deviation}, expected a positive "
                     f"finite value (the autoencoder did not train)")
  return 1.0 / deviation
