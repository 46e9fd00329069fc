"""DreamBooth (Ruiz et al. 2023): fine-tune a text-to-image model on a few images of one
subject bound to a rare identifier ("a photo of sks dog"), with prior preservation: the
model's own samples of the class prompt ("a photo of dog"), generated before fine-tuning,
keep the class's diversity (loss = instance noise MSE + lambda x class noise MSE)."""

from __future__ import annotations

import dataclasses
import os
import re
import sys
from typing import Dict, List, Sequence

import numpy as np

from tasks.diffusion.instance_images import load_instance_images, save_png
from tasks.diffusion.parts import TextToImage, to_unit_range
from tasks.diffusion.sampler import check_sampling, generate
from tasks.diffusion.training import Batch, DenoisingTrainer, draw_noise
from tff_course.atomic import atomic_path
from tff_course.errors import ConfigError
from tff_course.partition.partition import require_positive

CLASS_IMAGES_DIR = "class_images"
CHECKPOINTS_DIR = "checkpoints"
WEIGHTS_DIR = "weights"


@dataclasses.dataclass(frozen=True)
class DreamBoothConfig:
  """A DreamBooth run's settings.

  Attributes:
    instance_prompt: the prompt with the identifier, e.g. "a photo of sks dog".
    class_prompt: the same prompt without it, e.g. "a photo of dog".
    identifier: the rare token that names the subject.
    class_images: how many class images prior preservation uses.
    prior_weight: lambda; 0 turns prior preservation off.
    steps: fine-tuning steps.
    batch_size: instance images per step (and as many class images).
    learning_rate: AdamW's learning rate (the paper: 5e-6 for Stable Diffusion).
    train_text_encoder: whether the text encoder is fine-tuned too.
    checkpoint_every: steps between checkpoints.
    seed: batches, noise, and the class images' sampling noise.
    sample_steps: DDIM steps when generating class images.
    guidance: classifier-free guidance scale when generating class images.
  """

  instance_prompt: str
  class_prompt: str
  identifier: str = "sks"
  class_images: int = 100
  prior_weight: float = 1.0
  steps: int = 400
  batch_size: int = 4
  learning_rate: float = 5e-6
  train_text_encoder: bool = False
  checkpoint_every: int = 100
  seed: int = 0
  sample_steps: int = 50
  guidance: float = 7.5

  def __post_init__(self):
    if not has_word(self.instance_prompt, self.identifier):
      raise ConfigError(f"instance prompt: {self.instance_prompt!r} lacks the identifier "
                        f"{self.identifier!r}; expected e.g. 'a photo of "
                        f"{self.identifier} dog'")
    if has_word(self.class_prompt, self.identifier):
      raise ConfigError(f"class prompt: {self.class_prompt!r} contains the identifier "
                        f"{self.identifier!r}; expected the class alone, e.g. 'a photo of dog'")
    for name in ("steps", "batch_size", "checkpoint_every"):
      require_positive(name, getattr(self, name))
    if self.class_images < 0:
      raise ConfigError(f"class_images: got {self.class_images}, expected 0 or more")
    if self.prior_weight < 0:
      raise ConfigError(f"prior_weight: got {self.prior_weight}, expected >= 0 (0 turns "
                        f"prior preservation off)")
    if self.prior_weight > 0 and self.class_images == 0:
      raise ConfigError(f"class_images: got 0 with prior_weight {self.prior_weight}; "
                        f"prior preservation needs class images (or --prior-weight 0)")
    if not self.learning_rate > 0:
      raise ConfigError(f"learning_rate: got {self.learning_rate}, expected > 0")
    check_sampling(self.sample_steps, self.guidance)


def has_word(prompt: str, word: str) -> bool:
  """Whether `word` appears in `prompt` as a whole word (case-insensitive)."""
  return re.search(rf"(?<!\w){re.escape(word)}(?!\w)", prompt, re.IGNORECASE) is not None


def class_image_paths(folder: str) -> List[str]:
  """The cached class images, NNNNN.png, in order."""
  if not os.path.isdir(folder):
    return []
  return sorted(os.path.join(folder, name) for name in os.listdir(folder)
                if re.fullmatch(r"\d{5}\.png", name))


def ensure_class_images(model: TextToImage, config: DreamBoothConfig, folder: str, *,
                        batch_size: int = 25, progress: bool = True) -> np.ndarray:
  """The `class_images` class-prompt samples cached in `folder`, generating only the ones
  missing (image i from noise i of the seed, so an interrupted cache completes to what an
  uninterrupted one holds)."""
  from tqdm.auto import tqdm

  existing = len(class_image_paths(folder))
  with tqdm(total=config.class_images, initial=min(existing, config.class_images),
            desc="class images", unit="image", disable=not progress, file=sys.stderr,
            dynamic_ncols=True) as bar:
    for first in range(existing, config.class_images, batch_size):
      count = min(batch_size, config.class_images - first)
      images = generate(model, [config.class_prompt] * count, seed=config.seed,
                        first=first, steps=config.sample_steps, guidance=config.guidance,
                        progress=False)
      for offset, image in enumerate(images):
        save_png(image, os.path.join(folder, f"{first + offset:05d}.png"))
      bar.update(count)
  if config.class_images == 0:
    return np.zeros((0,) + tuple(model.image_shape), np.uint8)
  images, _ = load_instance_images(folder, model.image_shape)
  return images[:config.class_images]


def encode(model: TextToImage, images: np.ndarray, batch_size: int = 50) -> np.ndarray:
  """The model's latents of uint8 images."""
  parts = [np.asarray(model.image_encoder(to_unit_range(images[i:i + batch_size])))
           for i in range(0, len(images), batch_size)]
  return np.concatenate(parts, 0) if parts else np.zeros((0,) + model.latent_shape, np.float32)


def dreambooth_batches(instance_latents: np.ndarray, class_latents: np.ndarray,
                       instance_tokens: np.ndarray, class_tokens: np.ndarray,
                       config: DreamBoothConfig, train_timesteps: int):
  """batch_at(step): `batch_size` instance latents (weight 1/batch_size each) and, with
  prior preservation, as many class latents (weight lambda/batch_size each), drawn with
  noise and timesteps from (seed, step)."""
  size = config.batch_size
  prior = config.prior_weight > 0

  def batch_at(step: int) -> Batch:
    rng = np.random.default_rng([config.seed, 2, step])
    latents = instance_latents[rng.integers(0, len(instance_latents), size)]
    tokens = np.repeat(instance_tokens[None], size, 0)
    weights = np.full(size, 1.0 / size, np.float32)
    if prior:
      latents = np.concatenate([latents,
                                class_latents[rng.integers(0, len(class_latents), size)]])
      tokens = np.concatenate([tokens, np.repeat(class_tokens[None], size, 0)])
      weights = np.concatenate([weights, np.full(size, config.prior_weight / size,
                                                 np.float32)])
    noise, timesteps = draw_noise(rng, latents, train_timesteps)
    return Batch(latents.astype(np.float32), tokens, noise, timesteps, weights)

  return batch_at


def fine_tune(model: TextToImage, instance_dir: str, config: DreamBoothConfig, out: str, *,
              progress: bool = True) -> Dict[str, object]:
  """Fine-tunes `model` in place on the instance images, with class images cached in
  OUT/class_images and checkpoints in OUT/checkpoints (resumed when present); exports the
  fine-tuned networks' weights to OUT/weights/NAME.h5. Returns what it measured."""
  instance_images, notes = load_instance_images(instance_dir, model.image_shape)
  class_images = (ensure_class_images(model, config, os.path.join(out, CLASS_IMAGES_DIR),
                                      progress=progress)
                  if config.prior_weight > 0 else np.zeros((0,) + model.image_shape, np.uint8))
  tokens = model.tokens([config.instance_prompt, config.class_prompt])
  networks = ["diffusion_model"] + (["text_encoder"] if config.train_text_encoder else [])
  trainer = DenoisingTrainer(model, networks, learning_rate=config.learning_rate,
                             checkpoint_dir=os.path.join(out, CHECKPOINTS_DIR))
  metrics = trainer.run(config.steps, dreambooth_batches(
      encode(model, instance_images), encode(model, class_images), tokens[0], tokens[1],
      config, len(model.alphas_cumprod)), checkpoint_every=config.checkpoint_every,
      progress=progress, description="dreambooth")
  export_weights(model, os.path.join(out, WEIGHTS_DIR), networks)
  return dict(metrics, instance_images=len(instance_images), class_images=len(class_images),
              notes=list(notes))


def export_weights(model: TextToImage, directory: str, names: Sequence[str]) -> List[str]:
  """Writes each named network's weights to DIRECTORY/NAME.h5 (Keras HDF5, which KerasCV's
  models load with `load_weights`), each file whole or not at all."""
  os.makedirs(directory, exist_ok=True)
  paths = []
  for name in names:
    path = os.path.join(directory, f"{name}.h5")
    with atomic_path(path) as temp:
      model.networks[name].save_weights(temp)
    paths.append(path)
  return paths


def identifier_grid_prompts(config: DreamBoothConfig) -> Dict[str, str]:
  """The two rows of a DreamBooth grid: the prompt with the identifier and without."""
  return {"with identifier": config.instance_prompt, "without": config.class_prompt}


def sample_grid(model: TextToImage, prompts: Sequence[str], per_prompt: int, *, seed: int,
                steps: int, guidance: float, progress: bool = True) -> np.ndarray:
  """`per_prompt` images of each prompt, (len(prompts), per_prompt, H, W, C); column j of
  every row starts from the same noise (seeded), so rows differ only by their prompt."""
  rows = [generate(model, [prompt] * per_prompt, seed=seed, steps=steps, guidance=guidance,
                   progress=progress, description=prompt[:30]) for prompt in prompts]
  return np.stack(rows)
