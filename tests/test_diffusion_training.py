"""Training a text-to-image model to predict noise: the loss against a NumPy reference on
fixed noise and timesteps, a few steps lower it, and a run resumed after a kill ends with
the weights of an uninterrupted one. A tiny random-initialised small model, seconds each."""

import os
import shutil
from unittest import mock

import numpy as np
import tensorflow as tf

from tasks.diffusion.dreambooth import DreamBoothConfig, dreambooth_batches
from tasks.diffusion.resumable import Checkpoints, run_steps
from tasks.diffusion.schedule import timestep_embedding
from tasks.diffusion.small_model import (SmallModelConfig, build_small_model,
                                         load_small_model, save_small_model)
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

  def test_a_saved_model_loads_offline_with_its_own_vocabulary(self):
    model = tiny_model(seed=3)
    directory = os.path.join(self.create_tempdir().full_path, "model")
    save_small_model(model, TINY, directory, vocabulary=os.path.join(shared_data_dir(), "clip"))
    with mock.patch("tensorflow.keras.utils.get_file", side_effect=AssertionError("download")):
      loaded, config = load_small_model(directory)
    self.assertEqual(config, TINY)
    for name, network in model.networks.items():
      for a, b in zip(network.get_weights(), loaded.networks[name].get_weights(), strict=True):
        np.testing.assert_array_equal(a, b, err_msg=name)
    self.assertEqual(loaded.tokens(["a photo of sks bag"]).tolist(),
                     model.tokens(["a photo of sks bag"]).tolist())

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


class Killed(Exception):
  pass


class RunStepsTest(tf.test.TestCase):
  """The loop both trainers use, on a variable that sums the step indices."""

  def run_to(self, directory, total, kill_at=None):
    total_so_far = tf.Variable(0.0)
    checkpoints = Checkpoints(directory, "step", total=total_so_far)

    def step(index):
      if index == kill_at:
        raise Killed()
      total_so_far.assign_add(index)
      checkpoints.step.assign_add(1)
      return float(index)

    return run_steps(step, checkpoints, total, checkpoint_every=3, progress=False), \
        float(total_so_far.numpy())

  def test_a_run_killed_after_its_last_checkpoint_resumes_from_it(self):
    directory = self.create_tempdir().full_path
    with self.assertRaises(Killed):
      self.run_to(directory, 8, kill_at=5)
    (done, losses), total = self.run_to(directory, 8)
    self.assertEqual((done, losses, total), (3, [3.0, 4.0, 5.0, 6.0, 7.0], 28.0))
    (done, losses), total = self.run_to(directory, 8)
    self.assertEqual((done, losses, total), (8, [], 28.0))

  def test_without_a_directory_nothing_is_written_or_resumed(self):
    (done, losses), total = self.run_to(None, 4)
    self.assertEqual((done, losses, total), (0, [0.0, 1.0, 2.0, 3.0], 6.0))


@requires_data("clip", "bpe_simple_vocab_16e6.txt.gz")
class ResumeTest(tf.test.TestCase):
  """A run of 10 steps on one batch, checkpointed at step 5; the checkpoint directory is
  then put back as a kill at step 5 would have left it, and the same trainer, run again,
  must restore everything a run needs (weights, optimizer moments, step count) from it:
  any state the checkpoint missed would keep its step-10 value and change the ending.
  A new trainer of the model, from its initial weights, takes over the traced step but
  starts afresh (zero moments and step count): it ends with the same weights. One traced
  step serves every run (tracing dominates this test's time)."""

  def test_steps_lower_the_loss_and_a_resumed_run_ends_with_the_same_weights(self):
    root = self.get_temp_dir()
    model = tiny_model(seed=0)
    batch = fixed_batch(model)
    before = float(denoising_loss(model, batch, training=False))
    networks = ["diffusion_model", "text_encoder"]
    initial = {name: model.networks[name].get_weights() for name in networks}
    checkpoints = os.path.join(root, "run")
    trainer = DenoisingTrainer(model, networks, learning_rate=3e-3,
                               batch_size=len(batch.latents), checkpoint_dir=checkpoints)
    trainer.run(5, lambda step: batch, progress=False)
    shutil.copytree(checkpoints, os.path.join(root, "killed"))
    trainer.run(10, lambda step: batch, progress=False)
    self.assertLess(float(denoising_loss(model, batch, training=False)), 0.8 * before)
    uninterrupted = {name: [w.numpy() for w in model.networks[name].weights]
                     for name in networks}
    shutil.rmtree(checkpoints)
    shutil.copytree(os.path.join(root, "killed"), checkpoints)
    metrics = trainer.run(10, lambda step: batch, progress=False)
    self.assertEqual(metrics["resumed_at"], 5)
    self.assertEndsAt(model, uninterrupted)
    for name, values in initial.items():
      model.networks[name].set_weights(values)
    again = DenoisingTrainer(model, networks, learning_rate=3e-3,
                             batch_size=len(batch.latents))
    self.assertIs(again.optimizer, trainer.optimizer)
    self.assertEqual(again.run(10, lambda step: batch, progress=False)["resumed_at"], 0)
    self.assertEndsAt(model, uninterrupted)

  def assertEndsAt(self, model, weights):
    for name, values in weights.items():
      for a, b in zip(values, model.networks[name].weights, strict=True):
        self.assertAllClose(a, b, rtol=1e-4, atol=1e-5)
