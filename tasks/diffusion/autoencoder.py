"""The small model's first stage, as Stable Diffusion's VAE is to it: an autoencoder
trained to reconstruct images through latents 4 times smaller, then the scale that gives
its latents unit variance (Stable Diffusion's 0.18215 was found the same way)."""

from __future__ import annotations

import sys
from typing import Dict, Optional

import numpy as np

from tasks.diffusion.parts import to_unit_range


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
    self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
    checkpoint = tf.train.Checkpoint(step=self.step, optimizer=self.optimizer,
                                     encoder=encoder, decoder=decoder)
    self._manager = (tf.train.CheckpointManager(checkpoint, checkpoint_dir, max_to_keep=1)
                     if checkpoint_dir else None)
    self._checkpoint = checkpoint
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
    from tqdm.auto import tqdm

    if self._manager is not None and self._manager.latest_checkpoint:
      self._checkpoint.restore(self._manager.latest_checkpoint)
    done = int(self.step.numpy())
    losses = []
    with tqdm(total=total_steps, initial=done, desc="autoencoder", unit="step",
              disable=not progress, file=sys.stderr, dynamic_ncols=True) as bar:
      for step in range(done, total_steps):
        rows = np.random.default_rng([seed, step]).integers(0, len(images), batch_size)
        losses.append(float(self._train_step(to_unit_range(images[rows]))))
        if checkpoint_every and (step + 1) % checkpoint_every == 0 and self._manager:
          self._manager.save(checkpoint_number=step + 1)
        bar.set_postfix(mse=f"{np.mean(losses[-50:]):.4f}", refresh=False)
        bar.update(1)
    if self._manager is not None and done < total_steps:
      self._manager.save(checkpoint_number=total_steps)
    return {"steps": total_steps, "final_mse": float(np.mean(losses[-50:])) if losses
            else float("nan")}


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
