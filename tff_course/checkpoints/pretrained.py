"""Published pre-trained models as Keras models, converted from their PyTorch checkpoints.

A model's weights come from `weights` (a file the user names: any checkpoint of the
architecture, not hash-checked), else DATA_DIR/weights/<folder>/<published name>
(checked against the published sha256, when one is published), else the published URL
through `keras.utils.get_file` (cached, same hash).

"dino_vits16" converts DINO's dino_deitsmall16_pretrain.pth (150 tensors: cls_token,
pos_embed, patch_embed.proj, blocks.0-11, norm; no head) or timm's
"vit_small_patch16_224.dino" model.safetensors, whose keys should be the same: in that
configuration timm's fc_norm, head, LayerScale and q/k norms are identities, without
weights, and the file's 86.7 MB is 21,665,664 float32 values and a header. For another
`image_size` the position embedding is resized as DINO resizes it
(`pos_embed.interpolate_pos_embed`).
"""

from __future__ import annotations

import dataclasses
import os
from typing import Callable, Dict, Mapping, Optional, Tuple

import numpy as np

from tff_course.checkpoints.pos_embed import fit_pos_embed
from tff_course.checkpoints.state_dict import check_state_dict, read_state_dict
from tff_course.checkpoints.torch_layout import (assign_torch_weights, torch_keys,
                                                 without_ignored)
from tff_course.data.locate import resolve_data_dir
from tff_course.errors import ConfigError, DataError
from tff_course.published_files import PublishedFile, checked_file, published_file

State = Mapping[str, np.ndarray]


def _as_read(state: State, expected: Mapping[str, Tuple[int, ...]]) -> State:
  del expected
  return state


@dataclasses.dataclass(frozen=True)
class PretrainedModel:
  """A published checkpoint and the Keras architecture it converts into: `build` takes an
  image size (None: the checkpoint's own); `adapt` fits the checkpoint's tensors to the
  built model's shapes where the architecture allows it."""

  architecture: str
  file: PublishedFile
  folder: str
  build: Callable[[Optional[int]], object]
  recorded: str
  adapt: Callable[[State, Mapping[str, Tuple[int, ...]]], State] = _as_read


def _resnet20(image_size: Optional[int]):
  from tff_course.models.resnet_cifar import resnet20_cifar

  if image_size not in (None, 32):
    raise ConfigError(f"image_size: got {image_size}, expected 32 for ResNet-20 (its "
                      f"checkpoint was trained on 32x32 CIFAR-10 images)")
  return resnet20_cifar()


def _dino_vits16(image_size: Optional[int]):
  from tff_course.models.vit import vit_small

  return vit_small(image_size=image_size or 224)


PRETRAINED: Dict[str, PretrainedModel] = {
    "resnet20_cifar10": PretrainedModel(
        "ResNet-20", PublishedFile(
            "resnet20-12fca82f.th",
            "https://github.com/akamaster/pytorch_resnet_cifar10/raw/master/"
            "pretrained_models/resnet20-12fca82f.th",
            "12fca82f0bebc4135bf1f32f6e3710e61d5108578464b84fd6d7f5c1b04036c8",
            "akamaster/pytorch_resnet_cifar10"),
        "resnet20-cifar10", _resnet20, "91.78 % CIFAR-10 test accuracy (best_prec1)"),
    "dino_vits16": PretrainedModel(
        "DINO ViT-S/16", PublishedFile(
            "dino_deitsmall16_pretrain.pth",
            "https://dl.fbaipublicfiles.com/dino/dino_deitsmall16_pretrain/"
            "dino_deitsmall16_pretrain.pth", "", "facebookresearch/dino"),
        "dino-vits16", _dino_vits16,
        "ImageNet top-1 74.5 % k-NN, 77.0 % linear (DINO's README)", fit_pos_embed),
}


def pretrained_model(name: str) -> PretrainedModel:
  """The entry of `PRETRAINED` called `name`.

  Raises:
    ConfigError: unknown name.
  """
  if name not in PRETRAINED:
    raise ConfigError(f"pretrained model: got {name!r}, expected one of "
                      f"{', '.join(PRETRAINED)}")
  return PRETRAINED[name]


def pretrained_weights_path(name: str, *, weights: Optional[str] = None,
                            data_dir: Optional[str] = None) -> str:
  """The checkpoint file `load_pretrained` reads for `name` (see the module docstring)."""
  entry = pretrained_model(name)
  if weights is not None:
    if not os.path.isfile(weights):
      raise DataError(f"--weights: {weights!r} is not a file, expected a checkpoint of "
                      f"{entry.architecture} ({entry.file.name} or one like it)")
    return weights
  directory = resolve_data_dir(data_dir)
  if directory is not None:
    local = os.path.join(directory, "weights", entry.folder, entry.file.name)
    if os.path.exists(local):
      return checked_file(local, entry.file)
  return published_file(entry.file, flag="--weights FILE")


def load_pretrained(name: str, *, weights: Optional[str] = None,
                    data_dir: Optional[str] = None, image_size: Optional[int] = None):
  """The published model `name` as a Keras model with its converted weights, for
  `image_size` x `image_size` images (None: the checkpoint's size).

  Raises:
    ConfigError: an image size the architecture cannot take.
    DataError: the checkpoint is missing or unreadable, or holds another architecture
      (the message names the missing and unexpected keys).
  """
  entry = pretrained_model(name)
  model = entry.build(image_size)
  path = pretrained_weights_path(name, weights=weights, data_dir=data_dir)
  expected = torch_keys(model)
  state = entry.adapt(without_ignored(read_state_dict(path)), expected)
  check_state_dict(path, entry.architecture, state, expected)
  assign_torch_weights(model, state)
  return model
