"""A text-to-image diffusion model as KerasCV's Stable Diffusion splits it: a tokenizer, a
text encoder, a noise-predicting UNet, and an image encoder and decoder between images
and the latents the UNet denoises. Stable Diffusion and the toolkit's small model are both
`TextToImage`s, so training, sampling and attention editing are written once."""

from __future__ import annotations

import dataclasses
from typing import Callable, Dict, List, Sequence, Tuple

import numpy as np

from tasks.diffusion.schedule import timestep_embedding
from tasks.diffusion.tokenizer import CONTEXT_LENGTH, encode_prompt


@dataclasses.dataclass
class TextToImage:
  """The parts of a latent (or pixel) diffusion model.

  Attributes:
    tokenizer: KerasCV's CLIP `SimpleTokenizer`.
    text_encoder: Keras model, {"tokens", "positions"} (batch, 77) int32 -> context
      (batch, 77, width).
    diffusion_model: Keras model, {"latent", "timestep_embedding", "context"} -> the
      noise in the latent.
    image_encoder: images in [-1, 1], (batch, H, W, C) -> latents (scaled as the decoder
      expects).
    decoder: latents -> images in [-1, 1].
    latent_shape: one latent's shape.
    image_shape: one image's shape.
    timestep_dim: width of the sinusoidal timestep embedding the UNet takes.
    alphas_cumprod: the noise schedule's alpha-bar, one per training timestep.
    clip_denoised: whether sampling keeps predicted clean latents in [-1, 1] (pixel
      models).
    networks: its Keras models by name ("text_encoder", "diffusion_model",
      "image_encoder", "decoder"), for saving and loading weights.
  """

  tokenizer: object
  text_encoder: object
  diffusion_model: object
  image_encoder: Callable
  decoder: Callable
  latent_shape: Tuple[int, ...]
  image_shape: Tuple[int, ...]
  timestep_dim: int
  alphas_cumprod: np.ndarray
  clip_denoised: bool = False
  networks: Dict[str, object] = dataclasses.field(default_factory=dict)
  _token_cache: Dict[str, List[int]] = dataclasses.field(default_factory=dict, repr=False)
  _cache: Dict[str, object] = dataclasses.field(default_factory=dict, repr=False)

  def cached(self, key: str, build: Callable[[], object]):
    """`build()`, made once per model and key (traced functions)."""
    if key not in self._cache:
      self._cache[key] = build()
    return self._cache[key]

  def tokens(self, prompts: Sequence[str]) -> np.ndarray:
    """The prompts' padded token ids, (len(prompts), 77) int32."""
    rows = []
    for prompt in prompts:
      if prompt not in self._token_cache:
        self._token_cache[prompt] = encode_prompt(self.tokenizer, prompt)
      rows.append(self._token_cache[prompt])
    return np.asarray(rows, np.int32)

  def encode_tokens(self, tokens, training: bool = False):
    """The text encoder's context for token ids (batch, 77)."""
    import tensorflow as tf

    tokens = tf.convert_to_tensor(tokens, tf.int32)
    positions = tf.broadcast_to(tf.range(CONTEXT_LENGTH, dtype=tf.int32), tf.shape(tokens))
    return self.text_encoder({"tokens": tokens, "positions": positions}, training=training)

  def encode_prompts(self, prompts: Sequence[str]):
    """The context of each prompt, (len(prompts), 77, width)."""
    return self.encode_tokens(self.tokens(prompts))

  def predict_noise(self, latents, timesteps, context, training: bool = False):
    """The UNet's noise prediction for latents at integer timesteps (one per example)."""
    return self.diffusion_model(
        {"latent": latents, "timestep_embedding": timestep_embedding(timesteps,
                                                                     self.timestep_dim),
         "context": context}, training=training)

  def trainable_models(self, text_encoder: bool = False) -> list:
    """The models whose weights fine-tuning changes: the UNet, and the text encoder
    when asked."""
    return [self.diffusion_model] + ([self.text_encoder] if text_encoder else [])


def to_unit_range(images: np.ndarray) -> np.ndarray:
  """uint8 images in [0, 255] as float32 in [-1, 1]."""
  return images.astype(np.float32) / 127.5 - 1.0


def to_uint8(images) -> np.ndarray:
  """Images in [-1, 1] as uint8 in [0, 255], rounded and clipped."""
  values = (np.asarray(images, np.float32) + 1.0) * 127.5
  return np.clip(np.round(values), 0, 255).astype(np.uint8)
