"""Training a text-to-image model to predict noise: the loss against a NumPy reference on
fixed noise and timesteps, a few steps lower it, and a run resumed after a kill ends with
the weights of an uninterrupted one. A tiny random-initialised small model, seconds each."""

import os
import shutil

import numpy as np
import tensorflow as tf

from tasks.diffusion.dreambooth import DreamBoothConfig, dreambooth_batches
from tasks.diffusion.schedule import timestep_embedding
from tasks.diffusion.small_model import SmallModelConfig, build_small_model
from tasks.diffusion.training import Batch, DenoisingTrainer, denoising_loss, draw_noise
from tests.shared_data import requires_data, shared_data_dir

TINY = SmallModelConfig(image_shape=(16, 16, 1), channels=32, autoencoder_channels=32,
                        heads=2, text_width=32, text_layers=1, timestep_dim=32)


def tiny_model(seed=0):
  return build_small_model(TINY, vocabulary=os.path.join(shared_data_dir(), "clip"),
                           seed=seed)


def fixed_batch(model, rows=4, seed=0):
  rng = np.random.default_rng(seed)
  latents = rng.standard_normal((rows,) + model.latent_shape).astype(np.float32)
  noise, timesteps = draw_noise(rng, latents, len(model.alphas_cumprod))
  tokens = model.tokens(["a photo of sks bag", "a photo of a bag"] * (rows // 2))
  weights = np.array([0.5, 0.25, 0.5, 0.25][:rows], np.float32)
  return Batch(latents, tokens, noise, timesteps, weights)


@requires_data("clip", "bpe_simple_vocab_16e6.txt.gz")
class DenoisingLossTest(tf.test.TestCase):

  def test_loss_equals_numpy_reference(self):
    model = tiny_model()
    batch = fixed_batch(model)
    loss = float(denoising_loss(model, batch, training=False))
    alpha_bar = model.alphas_cumprod[batch.timesteps].reshape(-1, 1, 1, 1)
    noisy = np.sqrt(alpha_bar) * batch.latents + np.sqrt(1 - alpha_bar) * batch.noise
    context = model.encode_tokens(batch.tokens)
    predicted = model.diffusion_model({
        "latent": noisy.astype(np.float32),
        "timestep_embedding": timestep_embedding(batch.timesteps, model.timestep_dim),
        "context": context}).numpy()
    expected = np.sum(batch.weights * np.mean((predicted - batch.noise) ** 2, axis=(1, 2, 3)))
    self.assertAllClose(loss, expected, rtol=1e-5)

  def test_dreambooth_weights_are_one_over_batch_and_lambda(self):
    config = DreamBoothConfig("a photo of sks bag", "a photo of a bag", prior_weight=0.5,
                              batch_size=3)
    latents = np.zeros((5, 4, 4, 4), np.float32)
    batch = dreambooth_batches(latents, latents + 1, np.zeros(77, np.int32),
                               np.ones(77, np.int32), config, 1000)(7)
    self.assertAllClose(batch.weights, [1 / 3] * 3 + [0.5 / 3] * 3)
    self.assertAllEqual(batch.latents[:3], np.zeros((3, 4, 4, 4)))
    self.assertAllEqual(batch.latents[3:], np.ones((3, 4, 4, 4)))
    self.assertAllEqual(batch.tokens[:, 0], [0, 0, 0, 1, 1, 1])
    without = DreamBoothConfig("a photo of sks bag", "a photo of a bag", prior_weight=0.0,
                               class_images=0, batch_size=3)
    self.assertLen(dreambooth_batches(latents, latents[:0], np.zeros(77, np.int32),
                                      np.ones(77, np.int32), without, 1000)(7).weights, 3)


@requires_data("clip", "bpe_simple_vocab_16e6.txt.gz")
class ResumeTest(tf.test.TestCase):
  """One run trained on one batch, checkpointed half-way and continued in memory; a fresh
  model restored from the half-way checkpoint must end with its weights (to float
  rounding: TF's multithreaded CPU kernels do not promise the same bits across two
  models), and the steps must lower the batch's loss."""

  def test_steps_lower_the_loss_and_a_resumed_run_ends_with_the_same_weights(self):
    root = self.get_temp_dir()
    whole = tiny_model(seed=0)
    batch = fixed_batch(whole)
    before = float(denoising_loss(whole, batch, training=False))
    networks = ["diffusion_model", "text_encoder"]
    trainer = DenoisingTrainer(whole, networks, learning_rate=3e-3,
                               checkpoint_dir=os.path.join(root, "a"))
    trainer.run(5, lambda step: batch, progress=False)
    shutil.copytree(os.path.join(root, "a"), os.path.join(root, "killed"))
    trainer.run(10, lambda step: batch, progress=False)
    self.assertLess(float(denoising_loss(whole, batch, training=False)), 0.8 * before)
    resumed = tiny_model(seed=1)
    DenoisingTrainer(resumed, networks, learning_rate=3e-3,
                     checkpoint_dir=os.path.join(root, "killed")).run(
                         10, lambda step: batch, progress=False)
    for name in networks:
      for a, b in zip(whole.networks[name].weights, resumed.networks[name].weights):
        self.assertAllClose(a, b, rtol=1e-4, atol=1e-5)
