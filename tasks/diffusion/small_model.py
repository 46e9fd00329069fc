"""A small text-to-image diffusion model of Stable Diffusion's design, built from KerasCV's
own blocks (`ResBlock`, `SpatialTransformer` with its `CrossAttention`, `PaddedConv2D`,
`Upsample`; `CLIPEmbedding` and `CLIPEncoderLayer` for the text; `ResnetBlock` for the
autoencoder), denoising latents 4 times smaller than the images: small enough to train
from scratch on 2 CPU cores."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from typing import Tuple

from tasks.diffusion.parts import TextToImage
from tasks.diffusion.schedule import STABLE_DIFFUSION, NoiseSchedule
from tasks.diffusion.published import VOCABULARY
from tasks.diffusion.tokenizer import CONTEXT_LENGTH, clip_tokenizer, vocabulary_path
from tff_course.atomic import atomic_path, write_text
from tff_course.errors import ConfigError, DataError

VOCABULARY_SIZE = 49408
CONFIG_FILE = "model.json"
WEIGHT_FILES = {"text_encoder": "text_encoder.h5", "diffusion_model": "diffusion_model.h5",
                "image_encoder": "image_encoder.h5", "decoder": "decoder.h5"}


@dataclasses.dataclass(frozen=True)
class SmallModelConfig:
  """The small model's shape: Stable Diffusion's design (an autoencoder to latents 4 times
  smaller, a UNet with cross-attention to a CLIP text encoder) at a laptop's size.

  Attributes:
    image_shape: (height, width, channels) of its images; height and width divisible by 16.
    latent_channels: channels of a latent (Stable Diffusion's 4).
    autoencoder_channels: the autoencoder's width (a multiple of 32: group
      normalisation's 32 groups).
    channels: the UNet's width at every resolution (a multiple of 32).
    heads: attention heads in every SpatialTransformer.
    text_width: width of the text encoder and of the context the UNet attends to.
    text_layers: CLIP encoder layers.
    timestep_dim: width of the sinusoidal timestep embedding.
    latent_scale: what latents are multiplied by to have unit variance (Stable
      Diffusion's 0.18215), fitted after the autoencoder is trained.
    schedule: the noise schedule the UNet is trained with.
  """

  image_shape: Tuple[int, int, int] = (32, 32, 1)
  latent_channels: int = 4
  autoencoder_channels: int = 64
  channels: int = 64
  heads: int = 4
  text_width: int = 64
  text_layers: int = 2
  timestep_dim: int = 64
  latent_scale: float = 1.0
  schedule: NoiseSchedule = STABLE_DIFFUSION

  def __post_init__(self):
    height, width, _ = self.image_shape
    if height % 16 or width % 16:
      raise ConfigError(f"image_shape: got {self.image_shape}, expected height and width "
                        f"divisible by 16 (latents are 4 times smaller, and the UNet "
                        f"halves them twice)")
    for name in ("channels", "autoencoder_channels"):
      if getattr(self, name) % 32:
        raise ConfigError(f"{name}: got {getattr(self, name)}, expected a multiple of 32")
    if self.channels % self.heads or self.text_width % self.heads:
      raise ConfigError(f"heads: got {self.heads}, expected a divisor of "
                        f"{self.channels} and {self.text_width}")

  @property
  def latent_shape(self) -> Tuple[int, int, int]:
    """One latent's shape: a quarter of the image's height and width."""
    height, width, _ = self.image_shape
    return (height // 4, width // 4, self.latent_channels)

  def to_json(self) -> dict:
    """The config as JSON-ready values."""
    return dataclasses.asdict(self)

  @classmethod
  def from_json(cls, values: dict) -> "SmallModelConfig":
    """The config `to_json` wrote."""
    values = dict(values)
    values["image_shape"] = tuple(values["image_shape"])
    values["schedule"] = NoiseSchedule(**values["schedule"])
    return cls(**values)


def build_text_encoder(config: SmallModelConfig, name: str = "text_encoder"):
  """A causal CLIP text encoder of `text_layers` layers on CLIP's full vocabulary."""
  from keras_cv.src.models.stable_diffusion.text_encoder import (CLIPEmbedding,
                                                                  CLIPEncoderLayer,
                                                                  quick_gelu)
  from tensorflow import keras

  tokens = keras.layers.Input((CONTEXT_LENGTH,), dtype="int32", name="tokens")
  positions = keras.layers.Input((CONTEXT_LENGTH,), dtype="int32", name="positions")
  x = CLIPEmbedding(VOCABULARY_SIZE, config.text_width, CONTEXT_LENGTH)([tokens, positions])
  for _ in range(config.text_layers):
    x = CLIPEncoderLayer(config.text_width, config.heads, activation=quick_gelu)(x)
  x = keras.layers.LayerNormalization(epsilon=1e-5)(x)
  return keras.Model([tokens, positions], x, name=name)


def build_unet(config: SmallModelConfig, name: str = "diffusion_model"):
  """A UNet over latents at three resolutions (1, 1/2, 1/4) with cross-attention to the
  text at the two higher ones and in the middle, wired as KerasCV's Stable Diffusion
  UNet: skip connections concatenated on the way up, the timestep embedding added in
  every ResBlock."""
  from keras_cv.src.models.stable_diffusion.diffusion_model import (ResBlock,
                                                                     SpatialTransformer,
                                                                     Upsample)
  from keras_cv.src.models.stable_diffusion.padded_conv2d import PaddedConv2D
  from tensorflow import keras

  width = config.channels
  latent = keras.layers.Input(config.latent_shape, name="latent")
  t_input = keras.layers.Input((config.timestep_dim,), name="timestep_embedding")
  context = keras.layers.Input((CONTEXT_LENGTH, config.text_width), name="context")

  t_emb = keras.layers.Dense(4 * width)(t_input)
  t_emb = keras.layers.Activation("swish")(t_emb)
  t_emb = keras.layers.Dense(4 * width)(t_emb)

  def block(x, attend=True):
    x = ResBlock(width)([x, t_emb])
    if attend:
      x = SpatialTransformer(config.heads, width // config.heads,
                             fully_connected=False)([x, context])
    return x

  skips = [PaddedConv2D(width, 3, padding=1)(latent)]
  skips.append(block(skips[-1]))
  x = PaddedConv2D(width, 3, strides=2, padding=1)(skips[-1])
  skips.append(block(x))
  x = PaddedConv2D(width, 3, strides=2, padding=1)(skips[-1])
  skips.append(block(x, attend=False))

  x = block(skips[-1])
  x = ResBlock(width)([x, t_emb])

  x = block(keras.layers.Concatenate()([x, skips.pop()]), attend=False)
  x = Upsample(width)(x)
  x = block(keras.layers.Concatenate()([x, skips.pop()]))
  x = Upsample(width)(x)
  x = block(keras.layers.Concatenate()([x, skips.pop()]))
  x = block(keras.layers.Concatenate()([x, skips.pop()]), attend=False)

  x = keras.layers.GroupNormalization(epsilon=1e-5)(x)
  x = keras.layers.Activation("swish")(x)
  output = PaddedConv2D(config.latent_channels, 3, padding=1)(x)
  return keras.Model([latent, t_input, context], output, name=name)


def build_image_encoder(config: SmallModelConfig, name: str = "image_encoder"):
  """Images in [-1, 1] to unscaled latents, 4 times smaller, with KerasCV's VAE blocks
  (`PaddedConv2D`, `ResnetBlock`); deterministic (an autoencoder, not a VAE). Narrow at
  full resolution, where convolutions cost the most."""
  from keras_cv.src.models.stable_diffusion.padded_conv2d import PaddedConv2D
  from keras_cv.src.models.stable_diffusion.resnet_block import ResnetBlock
  from tensorflow import keras

  width = config.autoencoder_channels
  return keras.Sequential([
      keras.layers.Input(config.image_shape),
      PaddedConv2D(32, 3, padding=1),
      keras.layers.Activation("swish"),
      PaddedConv2D(width, 3, strides=2, padding=1),
      keras.layers.Activation("swish"),
      PaddedConv2D(width, 3, strides=2, padding=1),
      ResnetBlock(width),
      keras.layers.GroupNormalization(epsilon=1e-5),
      keras.layers.Activation("swish"),
      PaddedConv2D(config.latent_channels, 3, padding=1),
  ], name=name)


def build_decoder(config: SmallModelConfig, name: str = "decoder"):
  """Unscaled latents back to images in [-1, 1], mirroring `build_image_encoder` with
  KerasCV's decoder's upsampling (nearest, then a convolution)."""
  from keras_cv.src.models.stable_diffusion.padded_conv2d import PaddedConv2D
  from keras_cv.src.models.stable_diffusion.resnet_block import ResnetBlock
  from tensorflow import keras

  width = config.autoencoder_channels
  return keras.Sequential([
      keras.layers.Input(config.latent_shape),
      PaddedConv2D(width, 3, padding=1),
      ResnetBlock(width),
      keras.layers.UpSampling2D(2),
      PaddedConv2D(32, 3, padding=1),
      keras.layers.Activation("swish"),
      keras.layers.UpSampling2D(2),
      PaddedConv2D(32, 3, padding=1),
      keras.layers.GroupNormalization(epsilon=1e-5),
      keras.layers.Activation("swish"),
      PaddedConv2D(config.image_shape[-1], 3, padding=1),
  ], name=name)


def scaled_autoencoder(encoder, decoder, scale: float):
  """The image encoder and decoder callables of a model whose latents are the
  autoencoder's times `scale`."""
  scale = float(scale)

  def encode(images):
    return encoder(images, training=False) * scale

  def decode(latents):
    return decoder(latents / scale, training=False)

  return encode, decode


def build_small_model(config: SmallModelConfig = SmallModelConfig(), *,
                      vocabulary=None, seed: int = 0) -> TextToImage:
  """A freshly initialised small model (weights from `seed`)."""
  import tensorflow as tf

  tf.keras.utils.set_random_seed(seed)
  encoder, decoder = build_image_encoder(config), build_decoder(config)
  text_encoder, unet = build_text_encoder(config), build_unet(config)
  encode, decode = scaled_autoencoder(encoder, decoder, config.latent_scale)
  return TextToImage(
      tokenizer=clip_tokenizer(vocabulary), text_encoder=text_encoder,
      diffusion_model=unet, image_encoder=encode, decoder=decode,
      latent_shape=config.latent_shape, image_shape=tuple(config.image_shape),
      timestep_dim=config.timestep_dim, alphas_cumprod=config.schedule.alphas_cumprod(),
      networks={"text_encoder": text_encoder, "diffusion_model": unet,
                "image_encoder": encoder, "decoder": decoder})


def save_small_model(model: TextToImage, config: SmallModelConfig, directory: str, *,
                     vocabulary=None) -> None:
  """Writes model.json, the four networks' Keras .h5 weights and the tokenizer's
  vocabulary file (`vocabulary` as `clip_tokenizer` takes it) into `directory`, each
  file whole or not at all: the folder then loads without a network."""
  os.makedirs(directory, exist_ok=True)
  for part, filename in WEIGHT_FILES.items():
    with atomic_path(os.path.join(directory, filename)) as temp:
      model.networks[part].save_weights(temp)
  with atomic_path(os.path.join(directory, VOCABULARY.name)) as temp:
    shutil.copyfile(vocabulary_path(vocabulary), temp)
  write_text(os.path.join(directory, CONFIG_FILE), json.dumps(config.to_json(), indent=2))


def load_small_model(directory: str, *, vocabulary=None) -> Tuple[TextToImage, SmallModelConfig]:
  """The model `save_small_model` wrote into `directory`, its tokenizer on `vocabulary`,
  else on the vocabulary file in `directory` (folders written before it was saved there
  need `vocabulary`, or KerasCV's download).

  Raises:
    DataError: a file is missing; the message says which and how to make it.
  """
  config_path = os.path.join(directory, CONFIG_FILE)
  if not os.path.isfile(config_path):
    raise DataError(f"{directory}: no {CONFIG_FILE}; expected a model directory written by "
                    f"'tff-course diffusion pretrain --out DIR'")
  with open(config_path, encoding="utf-8") as stream:
    config = SmallModelConfig.from_json(json.load(stream))
  if vocabulary is None and os.path.isfile(os.path.join(directory, VOCABULARY.name)):
    vocabulary = directory
  model = build_small_model(config, vocabulary=vocabulary)
  for part, filename in WEIGHT_FILES.items():
    path = os.path.join(directory, filename)
    if not os.path.isfile(path):
      raise DataError(f"{path}: missing; expected the {part} weights that "
                      f"'tff-course diffusion pretrain' writes")
    model.networks[part].load_weights(path)
  return model, config
