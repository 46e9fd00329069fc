"""`tff-course diffusion pretrain`: the small text-to-image model trained from scratch on a
captioned real dataset ("a photo of a {class}"): the autoencoder first, then the UNet and
text encoder on its latents, with classifier-free guidance's empty prompt for a tenth of
the examples (Ho and Salimans 2022). Resumable at every stage."""

from __future__ import annotations

import dataclasses
import json
import os
import time
from typing import Dict, Optional

import numpy as np

from tasks.diffusion.autoencoder import AutoencoderTrainer, encode_images, latent_scale
from tasks.diffusion.captions import (CAPTION_TEMPLATE, class_words, diffusion_split,
                                      load_diffusion_dataset)
from tasks.diffusion.small_model import (SmallModelConfig, build_small_model,
                                         save_small_model, scaled_autoencoder)
from tasks.diffusion.training import Batch, DenoisingTrainer, draw_noise
from tff_course.atomic import write_text
from tff_course.errors import ConfigError
from tff_course.partition.partition import require_positive
from tff_course.versions import environment_versions

MODEL_DIR = "model"


@dataclasses.dataclass(frozen=True)
class PretrainConfig:
  """What `pretrain` trains, on what, for how long.

  Attributes:
    dataset: "fashion_mnist" or "cifar10".
    autoencoder_steps: autoencoder training steps.
    steps: UNet and text-encoder training steps.
    batch_size: images per step (both stages).
    learning_rate: AdamW's learning rate for the UNet and text encoder.
    caption_dropout: fraction of examples trained with the empty prompt.
    limit: training images used (None: all).
    seed: weights, batches and noise.
    checkpoint_every: steps between checkpoints.
    channels: the UNet's width.
  """

  dataset: str = "fashion_mnist"
  autoencoder_steps: int = 800
  steps: int = 3000
  batch_size: int = 32
  learning_rate: float = 1e-3
  caption_dropout: float = 0.1
  limit: Optional[int] = None
  seed: int = 0
  checkpoint_every: int = 250
  channels: int = 64

  def __post_init__(self):
    for name in ("autoencoder_steps", "steps", "batch_size", "checkpoint_every"):
      require_positive(name, getattr(self, name))
    if not 0.0 <= self.caption_dropout < 1.0:
      raise ConfigError(f"caption_dropout: got {self.caption_dropout}, expected a "
                        f"fraction in [0, 1)")
    if not self.learning_rate > 0:
      raise ConfigError(f"learning_rate: got {self.learning_rate}, expected > 0")


def captioned_batches(latents: np.ndarray, labels: np.ndarray, tokens: np.ndarray,
                      config: PretrainConfig, train_timesteps: int):
  """batch_at(step): `batch_size` latents drawn from (seed, step) with their captions'
  tokens (row `num_classes` of `tokens` is the empty prompt, used for a
  `caption_dropout` fraction), noise and timesteps; equal weights."""
  empty = len(tokens) - 1
  size = config.batch_size

  def batch_at(step: int) -> Batch:
    rng = np.random.default_rng([config.seed, 1, step])
    rows = rng.integers(0, len(latents), size)
    captions = np.where(rng.random(size) < config.caption_dropout, empty, labels[rows])
    noise, timesteps = draw_noise(rng, latents[rows], train_timesteps)
    return Batch(latents[rows], tokens[captions], noise, timesteps,
                 np.full(size, 1.0 / size, np.float32))

  return batch_at


def pretrain(out: str, config: PretrainConfig = PretrainConfig(), *,
             data_dir: Optional[str] = None, vocabulary: Optional[str] = None,
             progress: bool = True) -> Dict[str, object]:
  """Trains the small model into OUT/model (resuming from OUT/checkpoints) and writes
  config.json, versions.json and metrics.json; returns the metrics."""
  started = time.time()
  dataset = load_diffusion_dataset(config.dataset, data_dir, limit=config.limit)
  images, labels = diffusion_split(dataset, "train")
  words = class_words(dataset)
  model_config = SmallModelConfig(image_shape=images.shape[1:], channels=config.channels)
  model = build_small_model(model_config, vocabulary=vocabulary, seed=config.seed)
  os.makedirs(out, exist_ok=True)
  write_text(os.path.join(out, "config.json"), json.dumps(
      {"pretrain": dataclasses.asdict(config), "model": model_config.to_json()}, indent=2))
  write_text(os.path.join(out, "versions.json"), json.dumps(environment_versions(), indent=2))
  encoder, decoder = model.networks["image_encoder"], model.networks["decoder"]
  autoencoder = AutoencoderTrainer(encoder, decoder,
                                   checkpoint_dir=os.path.join(out, "checkpoints", "autoencoder"))
  autoencoder_metrics = autoencoder.run(images, config.autoencoder_steps,
                                        batch_size=config.batch_size, seed=config.seed,
                                        checkpoint_every=config.checkpoint_every,
                                        progress=progress)
  latents = encode_images(encoder, images)
  scale = latent_scale(latents)
  model_config = dataclasses.replace(model_config, latent_scale=scale)
  encode, decode = scaled_autoencoder(encoder, decoder, scale)
  model = dataclasses.replace(model, image_encoder=encode, decoder=decode)
  tokens = model.tokens([CAPTION_TEMPLATE.format(word) for word in words] + [""])
  trainer = DenoisingTrainer(model, ["diffusion_model", "text_encoder"],
                             learning_rate=config.learning_rate, batch_size=config.batch_size,
                             checkpoint_dir=os.path.join(out, "checkpoints", "unet"))
  unet_metrics = trainer.run(
      config.steps, captioned_batches(latents * scale, labels, tokens, config,
                                      len(model.alphas_cumprod)),
      checkpoint_every=config.checkpoint_every, progress=progress, description="unet")
  save_small_model(model, model_config, os.path.join(out, MODEL_DIR), vocabulary=vocabulary)
  metrics = {"autoencoder": autoencoder_metrics, "unet": unet_metrics,
             "latent_scale": scale, "classes": list(words),
             "seconds_this_invocation": round(time.time() - started, 1)}
  write_text(os.path.join(out, "metrics.json"), json.dumps(metrics, indent=2))
  return metrics
