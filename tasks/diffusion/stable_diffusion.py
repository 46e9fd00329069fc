"""KerasCV 0.6's Stable Diffusion v1 as a `TextToImage`: its four networks built without
KerasCV's own download, then given the published weights from a local directory (each
file checked against its sha256 first) or through KerasCV's download with the same hashes,
or left random (architecture only: tests, benchmarks)."""

from __future__ import annotations

import numbers
from typing import Dict, Mapping, Optional, Tuple, Union

from tasks.diffusion.parts import TextToImage
from tasks.diffusion.published import WEIGHTS
from tasks.diffusion.schedule import STABLE_DIFFUSION
from tasks.diffusion.tokenizer import CONTEXT_LENGTH, clip_tokenizer
from tff_course.errors import ConfigError
from tff_course.published_files import PublishedFile, published_file

IMAGE_MULTIPLE = 64
LATENT_FACTOR = 8
LATENT_CHANNELS = 4
TIMESTEP_DIM = 320


def image_dimensions(image_size: Union[int, Tuple[int, int]]) -> Tuple[int, int]:
  """(height, width) from one size or a pair.

  The UNet halves its latents (image / 8) three times and concatenates the skip
  connections on the way back up, so each side must be a multiple of 64. KerasCV
  rounds sizes to a multiple of 128 without saying so; here another size is refused, so
  images always have the size asked for.

  Raises:
    ConfigError: one line, for a size that is not a positive multiple of 64.
  """
  pair = (tuple(image_size) if isinstance(image_size, (tuple, list))
          else (image_size, image_size))
  if (len(pair) != 2 or not all(isinstance(side, numbers.Integral)
                                and not isinstance(side, bool) for side in pair)
      or any(side <= 0 or side % IMAGE_MULTIPLE for side in pair)):
    raise ConfigError(f"image_size: got {image_size!r}, expected a positive multiple of "
                      f"{IMAGE_MULTIPLE} (or a (height, width) pair of them; Stable "
                      f"Diffusion v1 was trained at 512)")
  return int(pair[0]), int(pair[1])


def build_networks(height: int, width: int) -> Dict[str, object]:
  """KerasCV's four Stable Diffusion v1 networks, randomly initialised, by WEIGHTS key."""
  from keras_cv.src.models.stable_diffusion.decoder import Decoder
  from keras_cv.src.models.stable_diffusion.diffusion_model import DiffusionModel
  from keras_cv.src.models.stable_diffusion.image_encoder import ImageEncoder
  from keras_cv.src.models.stable_diffusion.text_encoder import TextEncoder

  return {
      "text_encoder": TextEncoder(CONTEXT_LENGTH, download_weights=False),
      "diffusion_model": DiffusionModel(height, width, CONTEXT_LENGTH,
                                        download_weights=False),
      "decoder": Decoder(height, width, download_weights=False),
      "image_encoder": ImageEncoder(download_weights=False),
  }


def weight_paths(weights_dir: Optional[str],
                 table: Optional[Mapping[str, PublishedFile]] = None) -> Dict[str, str]:
  """Each part's checked weights file (`table`: default WEIGHTS): from `weights_dir`
  under its published name, or KerasCV's download; a missing or corrupt file raises
  `files`' one-line DataError."""
  table = WEIGHTS if table is None else table
  return {part: published_file(published, weights_dir) for part, published in table.items()}


def load_weight_files(networks: Mapping[str, object], paths: Mapping[str, str]) -> None:
  """Loads each network's .h5 weights (Keras matches them in layer order, not by name)."""
  for part, path in paths.items():
    networks[part].load_weights(path)


def load_stable_diffusion(*, weights_dir: Optional[str] = None,
                          image_size: Union[int, Tuple[int, int]] = 512,
                          vocabulary: Optional[str] = None,
                          weights: bool = True) -> TextToImage:
  """Stable Diffusion v1 from KerasCV 0.6 for images of `image_size`.

  Args:
    weights_dir: a directory holding KerasCV's published files under their published
      names (kcv_encoder.h5, kcv_diffusion_model.h5, kcv_decoder.h5, vae_encoder.h5, and
      the CLIP vocabulary unless `vocabulary` says where it is); None: KerasCV's own
      download and cache.
    image_size: the images' side, or (height, width); multiples of 64.
    vocabulary: the CLIP vocabulary file or a directory holding it; None: `weights_dir`,
      else KerasCV's download.
    weights: False builds the architecture with random weights and reads no weights file.

  Every weights file is found and checked before the networks are built, so a missing
  or corrupt one fails in seconds, in one line naming it and its sha256.
  """
  height, width = image_dimensions(image_size)
  paths = weight_paths(weights_dir) if weights else {}
  tokenizer = clip_tokenizer(vocabulary if vocabulary is not None else weights_dir)
  networks = build_networks(height, width)
  load_weight_files(networks, paths)
  return stable_diffusion_parts(networks, tokenizer, height, width)


def stable_diffusion_parts(networks: Mapping[str, object], tokenizer, height: int,
                           width: int) -> TextToImage:
  """The `TextToImage` over KerasCV's networks. KerasCV's image encoder already scales
  its latents by 0.18215 and its decoder divides by it, so both are used as they are.
  The encoder gives the VAE posterior's mean (its first 4 of 8 channels); keras-io's
  DreamBooth example instead samples mean + std * noise from the layer before it."""
  encoder, decoder = networks["image_encoder"], networks["decoder"]

  def encode(images):
    return encoder(images, training=False)

  def decode(latents):
    return decoder(latents, training=False)

  return TextToImage(
      tokenizer=tokenizer, text_encoder=networks["text_encoder"],
      diffusion_model=networks["diffusion_model"], image_encoder=encode, decoder=decode,
      latent_shape=(height // LATENT_FACTOR, width // LATENT_FACTOR, LATENT_CHANNELS),
      image_shape=(height, width, 3), timestep_dim=TIMESTEP_DIM,
      alphas_cumprod=STABLE_DIFFUSION.alphas_cumprod(), networks=dict(networks))
