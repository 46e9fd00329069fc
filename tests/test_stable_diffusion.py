"""KerasCV's Stable Diffusion v1 as a TextToImage: the schedule, timestep embedding, DDIM
update and unconditional tokens against KerasCV 0.6.4's own code; the real architecture
with random weights through one sampling step at 64x64; weights loaded from a local
directory (checked) or KerasCV's download, on small .h5 files the tests write."""

import hashlib
import math
import os
import time
from unittest import mock

import h5py
import numpy as np
import tensorflow as tf
from keras_cv.src.backend import ops as kerascv_ops
from keras_cv.src.models.stable_diffusion import stable_diffusion as kerascv_sd
from keras_cv.src.models.stable_diffusion.constants import (_ALPHAS_CUMPROD,
                                                            _UNCONDITIONAL_TOKENS)
from keras_cv.src.models.stable_diffusion.diffusion_model import (ResBlock,
                                                                   SpatialTransformer,
                                                                   Upsample)
from keras_cv.src.models.stable_diffusion.noise_scheduler import NoiseScheduler
from keras_cv.src.models.stable_diffusion.padded_conv2d import PaddedConv2D
from keras_cv.src.models.stable_diffusion.text_encoder import CLIPEmbedding

from tasks.diffusion import stable_diffusion
from tasks.diffusion.parts import TextToImage
from tasks.diffusion.published import WEIGHTS, PublishedFile
from tasks.diffusion.sampler import denoise
from tasks.diffusion.schedule import (STABLE_DIFFUSION, add_noise, ddim_step,
                                      sampling_timesteps, timestep_embedding)
from tasks.diffusion.stable_diffusion import (image_dimensions, load_stable_diffusion,
                                              load_weight_files, weight_paths)
from tasks.diffusion.tokenizer import CONTEXT_LENGTH, clip_tokenizer
from tests.shared_data import requires_data, shared_data_dir
from tff_course.errors import ConfigError, DataError

TEXT_WIDTH = 8


def vocabulary_dir():
  return os.path.join(shared_data_dir(), "clip")


def kerascv_noise_scheduler():
  """KerasCV's NoiseScheduler as the keras-io DreamBooth example makes it. KerasCV 0.6.4
  calls `ops.math.cumprod`, which its TensorFlow-only backend lacks (AttributeError), so
  `ops.math` is TensorFlow's while it is made; the rest is its own code."""
  with mock.patch.object(kerascv_ops, "math", tf.math):
    return NoiseScheduler(beta_start=0.00085, beta_end=0.012,
                          beta_schedule="scaled_linear")


def kerascv_base():
  """A StableDiffusionBase without its networks (none built, nothing downloaded)."""
  return object.__new__(kerascv_sd.StableDiffusionBase)


def tiny_text_encoder():
  """A Keras text encoder with Stable Diffusion's inputs: CLIP's embedding, 8 wide."""
  tokens = tf.keras.layers.Input((CONTEXT_LENGTH,), dtype="int32", name="tokens")
  positions = tf.keras.layers.Input((CONTEXT_LENGTH,), dtype="int32", name="positions")
  x = CLIPEmbedding(49408, TEXT_WIDTH, CONTEXT_LENGTH)([tokens, positions])
  return tf.keras.Model([tokens, positions], tf.keras.layers.LayerNormalization()(x))


class TinyDiffusionModel(tf.keras.Model):
  """KerasCV's DiffusionModel in miniature, made the same way (a keras.Model subclass
  whose constructor wires a functional graph of KerasCV's UNet blocks)."""

  def __init__(self, img_height, img_width, max_text_length, name=None):
    context = tf.keras.layers.Input((max_text_length, TEXT_WIDTH), name="context")
    t_embed_input = tf.keras.layers.Input((320,), name="timestep_embedding")
    latent = tf.keras.layers.Input((img_height // 8, img_width // 8, 4), name="latent")
    t_emb = tf.keras.layers.Dense(64)(t_embed_input)
    t_emb = tf.keras.layers.Activation("swish")(t_emb)
    skip = PaddedConv2D(32, kernel_size=3, padding=1)(latent)
    x = ResBlock(32)([skip, t_emb])
    x = SpatialTransformer(2, 16, fully_connected=False)([x, context])
    down = PaddedConv2D(32, 3, strides=2, padding=1)(x)
    x = ResBlock(32)([down, t_emb])
    x = Upsample(32)(x)
    x = tf.keras.layers.Concatenate()([x, skip])
    x = ResBlock(32)([x, t_emb])
    x = tf.keras.layers.GroupNormalization(epsilon=1e-5)(x)
    output = PaddedConv2D(4, kernel_size=3, padding=1)(x)
    super().__init__([latent, t_embed_input, context], output, name=name)


class FakeDecoder:
  """Records the latents KerasCV's generate_image decodes."""

  def predict_on_batch(self, latents):
    self.latents = np.asarray(latents)
    return np.zeros(self.latents.shape[:-1] + (3,), np.float32)


class KerasCVSampler(kerascv_sd.StableDiffusionBase):
  """KerasCV's StableDiffusionBase on given networks and tokenizer."""

  def __init__(self, text_encoder, diffusion_model, tokenizer):
    super().__init__(128, 128, jit_compile=False)
    self._text_encoder, self._diffusion_model = text_encoder, diffusion_model
    self._tokenizer, self._decoder = tokenizer, FakeDecoder()

  text_encoder = property(lambda self: self._text_encoder)
  diffusion_model = property(lambda self: self._diffusion_model)
  tokenizer = property(lambda self: self._tokenizer)
  decoder = property(lambda self: self._decoder)


class ScheduleAgainstKerasCVTest(tf.test.TestCase):

  def test_alphas_cumprod_are_kerascvs_to_float32_precision(self):
    ours = STABLE_DIFFUSION.alphas_cumprod()
    self.assertEqual(ours.shape, (1000,))
    np.testing.assert_array_equal(ours.astype(np.float32),
                                  np.asarray(_ALPHAS_CUMPROD, np.float32))
    np.testing.assert_allclose(ours, np.asarray(kerascv_noise_scheduler().alphas_cumprod),
                               rtol=1e-5)

  def test_kerascv_noise_scheduler_needs_the_patch_on_this_install(self):
    with self.assertRaisesRegex(AttributeError, "cumprod"):
      NoiseScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear")

  def test_add_noise_is_the_formula_and_kerascvs(self):
    rng = np.random.default_rng(0)
    x0 = rng.standard_normal((4, 8, 8, 4)).astype(np.float32)
    noise = rng.standard_normal((4, 8, 8, 4)).astype(np.float32)
    timesteps = np.array([0, 1, 500, 999])
    alphas = STABLE_DIFFUSION.alphas_cumprod()
    ours = add_noise(x0, noise, timesteps, alphas).numpy()
    bar = alphas[timesteps][:, None, None, None]
    self.assertAllClose(ours, np.sqrt(bar) * x0 + np.sqrt(1 - bar) * noise, atol=1e-6)
    theirs = kerascv_noise_scheduler().add_noise(x0, noise, timesteps)
    self.assertAllClose(ours, np.asarray(theirs), atol=1e-5)

  def test_timestep_embedding_is_kerascvs(self):
    base = kerascv_base()
    timesteps = [0, 1, 21, 500, 981, 999]
    ours = timestep_embedding(np.array(timesteps), 320).numpy()
    theirs = np.concatenate([np.asarray(base._get_timestep_embedding(t, 1))
                             for t in timesteps])
    self.assertEqual(ours.shape, (6, 320))
    self.assertAllClose(ours, theirs, atol=1e-6)

  def test_sampling_timesteps_are_kerascvs(self):
    for steps in (1, 2, 3, 7, 25, 50, 999, 1000):
      np.testing.assert_array_equal(sampling_timesteps(steps),
                                    np.arange(1, 1000, 1000 // steps))

  def test_ddim_step_is_kerascvs_update(self):
    rng = np.random.default_rng(1)
    latent = rng.standard_normal((2, 8, 8, 4)).astype(np.float32)
    noise = rng.standard_normal((2, 8, 8, 4)).astype(np.float32)
    timesteps = np.arange(1, 1000, 1000 // 50)
    alphas, previous = kerascv_base()._get_initial_alphas(timesteps)
    ours_alphas = STABLE_DIFFUSION.alphas_cumprod()
    for index in (0, 1, 25, 49):
      a_t, a_prev = alphas[index], previous[index]
      pred_x0 = (latent - math.sqrt(1 - a_t) * noise) / math.sqrt(a_t)
      theirs = noise * math.sqrt(1.0 - a_prev) + math.sqrt(a_prev) * pred_x0
      ours_prev = ours_alphas[timesteps[index - 1]] if index else 1.0
      ours = ddim_step(tf.constant(latent), tf.constant(noise),
                       float(ours_alphas[timesteps[index]]), float(ours_prev))
      self.assertAllClose(ours, theirs, atol=1e-5)


@requires_data("clip", "bpe_simple_vocab_16e6.txt.gz")
class SamplingAgainstKerasCVTest(tf.test.TestCase):

  def test_the_empty_negative_prompt_is_kerascvs_unconditional_tokens(self):
    parts = TextToImage(clip_tokenizer(vocabulary_dir()), None, None, None, None,
                        (8, 8, 4), (64, 64, 3), 320, STABLE_DIFFUSION.alphas_cumprod())
    np.testing.assert_array_equal(parts.tokens([""]), [_UNCONDITIONAL_TOKENS])

  def test_guided_ddim_sampling_is_kerascvs_generate_image(self):
    tf.keras.utils.set_random_seed(3)
    tokenizer = clip_tokenizer(vocabulary_dir())
    text_encoder, unet = tiny_text_encoder(), TinyDiffusionModel(64, 64, CONTEXT_LENGTH)
    model = TextToImage(tokenizer, text_encoder, unet, None, None, (8, 8, 4), (64, 64, 3),
                        320, STABLE_DIFFUSION.alphas_cumprod())
    prompts = ["a photo of a dog", "a watercolour of a boat"]
    noise = np.random.default_rng(4).standard_normal((2, 8, 8, 4)).astype(np.float32)
    kerascv = KerasCVSampler(text_encoder, unet, tokenizer)
    encoded = np.concatenate([kerascv.encode_text(prompt) for prompt in prompts])
    kerascv.generate_image(encoded, batch_size=2, num_steps=5,
                           unconditional_guidance_scale=7.5, diffusion_noise=noise)
    ours = denoise(model, noise, prompts, steps=5, guidance=7.5, progress=False).numpy()
    self.assertGreater(np.abs(ours - noise).max(), 0.1)
    self.assertAllClose(ours, kerascv.decoder.latents, atol=1e-4, rtol=1e-4)


class ImageSizeTest(tf.test.TestCase):

  def test_multiples_of_64_and_nothing_else(self):
    self.assertEqual(image_dimensions(512), (512, 512))
    self.assertEqual(image_dimensions(64), (64, 64))
    self.assertEqual(image_dimensions((128, 192)), (128, 192))
    self.assertEqual(image_dimensions(np.int64(256)), (256, 256))
    for bad in (100, 0, -64, 512.0, "512", True, (64,), (64, 96), (64, 64, 3)):
      with self.assertRaisesRegex(ConfigError, r"^image_size: got .*, expected a positive "
                                               r"multiple of 64[^\n]*$"):
        image_dimensions(bad)

  def test_a_bad_size_fails_before_any_file_is_read(self):
    with mock.patch.object(stable_diffusion, "weight_paths") as paths:
      with self.assertRaisesRegex(ConfigError, "image_size: got 500"):
        load_stable_diffusion(weights_dir="/nonexistent", image_size=500)
    paths.assert_not_called()


@requires_data("clip", "bpe_simple_vocab_16e6.txt.gz")
class StableDiffusionArchitectureTest(tf.test.TestCase):
  """Stable Diffusion v1's real networks, random weights, 64x64 images: built once."""

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    tf.keras.utils.set_random_seed(0)
    start = time.perf_counter()
    cls.model = load_stable_diffusion(weights=False, image_size=64,
                                      vocabulary=vocabulary_dir())
    cls.build_seconds = time.perf_counter() - start
    print(f"\nStable Diffusion v1 at 64x64, random weights: built in "
          f"{cls.build_seconds:.1f} s; parameters "
          + ", ".join(f"{part} {network.count_params():,}"
                      for part, network in cls.model.networks.items()))

  @classmethod
  def tearDownClass(cls):
    del cls.model
    tf.keras.backend.clear_session()
    super().tearDownClass()

  def test_the_parts_are_kerascvs_sd_v1(self):
    model = self.model
    self.assertEqual(set(model.networks), set(WEIGHTS))
    self.assertEqual((model.latent_shape, model.image_shape, model.timestep_dim),
                     ((8, 8, 4), (64, 64, 3), 320))
    counts = {part: network.count_params() for part, network in model.networks.items()}
    self.assertEqual(counts["diffusion_model"], 859_520_964)
    self.assertEqual(counts["text_encoder"], 123_060_480)
    np.testing.assert_array_equal(model.alphas_cumprod, STABLE_DIFFUSION.alphas_cumprod())

  def test_one_guided_denoising_step_and_a_decoder_pass(self):
    noise = np.random.default_rng(0).standard_normal((1, 8, 8, 4)).astype(np.float32)
    start = time.perf_counter()
    latents = denoise(self.model, noise, ["a photo of sks dog"], steps=1, guidance=7.5,
                      progress=False).numpy()
    step_seconds = time.perf_counter() - start
    self.assertEqual(latents.shape, (1, 8, 8, 4))
    self.assertTrue(np.isfinite(latents).all())
    self.assertGreater(np.abs(latents - noise).max(), 0.0)
    images = self.model.decoder(latents).numpy()
    self.assertEqual(images.shape, (1, 64, 64, 3))
    self.assertTrue(np.isfinite(images).all())
    print(f"\none 64x64 step (text encoder, UNet on a batch of 2, traced): "
          f"{step_seconds:.1f} s")

  def test_the_image_encoder_gives_latents_of_the_decoders_shape(self):
    images = np.random.default_rng(1).uniform(-1, 1, (1, 64, 64, 3)).astype(np.float32)
    latents = self.model.image_encoder(images).numpy()
    self.assertEqual(latents.shape, (1, 8, 8, 4))
    self.assertTrue(np.isfinite(latents).all())


def tiny_networks(height, width):
  """Four small Keras models standing in for Stable Diffusion's, by WEIGHTS key."""
  def dense(name):
    return tf.keras.Sequential([tf.keras.layers.Input((3,)), tf.keras.layers.Dense(2)],
                               name=name)
  return {"text_encoder": dense("text"), "diffusion_model": TinyDiffusionModel(
      height, width, CONTEXT_LENGTH), "decoder": dense("decoder"),
          "image_encoder": dense("encoder")}


def write_published(directory, networks):
  """Saves each network's weights under a published-style name; returns the table of
  PublishedFile entries with their sha256."""
  table = {}
  for part, network in networks.items():
    name = f"tiny_{part}.h5"
    path = os.path.join(directory, name)
    network.save_weights(path)
    with open(path, "rb") as stream:
      digest = hashlib.sha256(stream.read()).hexdigest()
    table[part] = PublishedFile(name, f"https://example.invalid/{name}", digest)
  return table


def assert_same_weights(first, second):
  for a, b in zip(first.get_weights(), second.get_weights(), strict=True):
    np.testing.assert_array_equal(a, b)


class LocalWeightsTest(tf.test.TestCase):

  def setUp(self):
    super().setUp()
    tf.keras.utils.set_random_seed(5)
    self.directory = self.create_tempdir().full_path
    self.saved = tiny_networks(64, 64)
    self.table = write_published(self.directory, self.saved)

  def test_a_wrong_file_in_the_directory_is_one_line_before_anything_is_built(self):
    with open(os.path.join(self.directory, "kcv_encoder.h5"), "wb") as stream:
      stream.write(b"not the text encoder")
    wrong = hashlib.sha256(b"not the text encoder").hexdigest()
    with mock.patch.object(stable_diffusion, "build_networks") as build:
      with self.assertRaisesRegex(DataError, r"^\S*kcv_encoder.h5: sha256 " + wrong +
                                  ", expected " + WEIGHTS["text_encoder"].sha256 +
                                  r"[^\n]*$"):
        load_stable_diffusion(weights_dir=self.directory, image_size=64)
      os.remove(os.path.join(self.directory, "kcv_encoder.h5"))
      with self.assertRaisesRegex(DataError, r"kcv_encoder.h5: missing; expected KerasCV's "
                                  r"kcv_encoder.h5 \(sha256 " +
                                  WEIGHTS["text_encoder"].sha256 + r"[^\n]*$"):
        load_stable_diffusion(weights_dir=self.directory, image_size=64)
    build.assert_not_called()

  def test_a_corrupt_local_file_names_itself_and_its_hash(self):
    path = os.path.join(self.directory, "tiny_decoder.h5")
    with open(path, "r+b") as stream:
      stream.truncate(os.path.getsize(path) // 2)
    with self.assertRaisesRegex(DataError, r"tiny_decoder.h5: sha256 [0-9a-f]{64}, "
                                r"expected " + self.table["decoder"].sha256):
      weight_paths(self.directory, self.table)

  def test_checked_local_files_load_into_fresh_networks(self):
    fresh = tiny_networks(64, 64)
    load_weight_files(fresh, weight_paths(self.directory, self.table))
    for part in self.saved:
      assert_same_weights(self.saved[part], fresh[part])

  @requires_data("clip", "bpe_simple_vocab_16e6.txt.gz")
  def test_the_loader_reads_the_table_from_the_directory(self):
    with mock.patch.object(stable_diffusion, "WEIGHTS", self.table), \
         mock.patch.object(stable_diffusion, "build_networks", tiny_networks):
      model = load_stable_diffusion(weights_dir=self.directory, image_size=64,
                                    vocabulary=vocabulary_dir())
    for part in self.saved:
      assert_same_weights(self.saved[part], model.networks[part])
    self.assertIs(model.diffusion_model, model.networks["diffusion_model"])
    self.assertEqual(model.latent_shape, (8, 8, 4))
    x = np.ones((2, 3), np.float32)
    self.assertAllEqual(model.image_encoder(x), self.saved["image_encoder"](x))
    self.assertAllEqual(model.decoder(x), self.saved["decoder"](x))

  @requires_data("clip", "bpe_simple_vocab_16e6.txt.gz")
  def test_without_a_directory_kerascv_downloads_each_file_with_its_hash(self):
    paths = {published.origin: os.path.join(self.directory, published.name)
             for published in self.table.values()}
    with mock.patch.object(stable_diffusion, "WEIGHTS", self.table), \
         mock.patch.object(stable_diffusion, "build_networks", tiny_networks), \
         mock.patch("tensorflow.keras.utils.get_file",
                    side_effect=lambda name, origin, file_hash: paths[origin]) as get_file:
      model = load_stable_diffusion(image_size=64, vocabulary=vocabulary_dir())
    self.assertCountEqual(get_file.call_args_list,
                          [mock.call(p.name, p.origin, file_hash=p.sha256)
                           for p in self.table.values()])
    assert_same_weights(self.saved["diffusion_model"],
                        model.networks["diffusion_model"])

  @requires_data("clip", "bpe_simple_vocab_16e6.txt.gz")
  def test_without_weights_no_file_is_read(self):
    with mock.patch.object(stable_diffusion, "build_networks", tiny_networks), \
         mock.patch.object(stable_diffusion, "published_file") as published:
      model = load_stable_diffusion(weights_dir="/nonexistent", weights=False,
                                    vocabulary=vocabulary_dir())
    published.assert_not_called()
    self.assertEqual(model.image_shape, (512, 512, 3))


class FineTunedWeightsTest(tf.test.TestCase):
  """A fine-tuned UNet reaches KerasCV as DiffusionModel.save_weights("x.h5") and
  DiffusionModel(...).load_weights("x.h5"): shown on a model built the same way."""

  def test_h5_round_trip_into_a_new_model_of_another_image_size(self):
    tf.keras.utils.set_random_seed(6)
    tuned = TinyDiffusionModel(64, 64, CONTEXT_LENGTH)
    shift = np.random.default_rng(6)
    tuned.set_weights([w + 0.01 * shift.standard_normal(w.shape).astype(np.float32)
                       for w in tuned.get_weights()])
    path = os.path.join(self.create_tempdir().full_path, "diffusion_model.h5")
    tuned.save_weights(path)
    self.assertTrue(h5py.is_hdf5(path))
    loaded = TinyDiffusionModel(128, 192, CONTEXT_LENGTH)
    self.assertNotEqual([layer.name for layer in tuned.layers],
                        [layer.name for layer in loaded.layers])
    load_weight_files({"diffusion_model": loaded}, {"diffusion_model": path})
    assert_same_weights(tuned, loaded)
    rng = np.random.default_rng(7)
    inputs = {"latent": rng.standard_normal((1, 8, 8, 4)).astype(np.float32),
              "timestep_embedding": timestep_embedding(np.array([500]), 320),
              "context": rng.standard_normal((1, 77, TEXT_WIDTH)).astype(np.float32)}
    again = TinyDiffusionModel(64, 64, CONTEXT_LENGTH)
    again.load_weights(path)
    self.assertAllClose(again(inputs), tuned(inputs), atol=1e-6)
