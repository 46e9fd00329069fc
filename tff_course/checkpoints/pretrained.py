"""Published pre-trained models as Keras models, converted from their PyTorch checkpoints.

A model's weights come from `weights` (a file the user names: any checkpoint of the
architecture, not hash-checked), else DATA_DIR/weights/<folder>/<published name>
(checked against the published sha256), else the published URL through
`keras.utils.get_file` (cached, same hash).
"""

from __future__ import annotations

import dataclasses
import os
from typing import Callable, Dict, Optional

from tff_course.checkpoints.state_dict import check_state_dict, read_state_dict
from tff_course.checkpoints.torch_layout import (assign_torch_weights, torch_keys,
                                                 without_ignored)
from tff_course.data.locate import resolve_data_dir
from tff_course.errors import ConfigError, DataError
from tff_course.published_files import PublishedFile, checked_file, published_file


@dataclasses.dataclass(frozen=True)
class PretrainedModel:
  """A published checkpoint and the Keras architecture it converts into."""

  architecture: str
  file: PublishedFile
  folder: str
  build: Callable[[], object]
  recorded: str


def _resnet20():
  from tff_course.models.resnet_cifar import resnet20_cifar

  return resnet20_cifar()


PRETRAINED: Dict[str, PretrainedModel] = {
    "resnet20_cifar10": PretrainedModel(
        "ResNet-20", PublishedFile(
            "resnet20-12fca82f.th",
            "https://github.com/akamaster/pytorch_resnet_cifar10/raw/master/"
            "pretrained_models/resnet20-12fca82f.th",
            "12fca82f0bebc4135bf1f32f6e3710e61d5108578464b84fd6d7f5c1b04036c8",
            "akamaster/pytorch_resnet_cifar10"),
        "resnet20-cifar10", _resnet20, "91.78 % CIFAR-10 test accuracy (best_prec1)"),
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
                    data_dir: Optional[str] = None):
  """The published model `name` as a Keras model with its converted weights.

  Raises:
    DataError: the checkpoint is missing or unreadable, or holds another architecture
      (the message names the missing and unexpected keys).
  """
  entry = pretrained_model(name)
  path = pretrained_weights_path(name, weights=weights, data_dir=data_dir)
  model = entry.build()
  state = without_ignored(read_state_dict(path))
  check_state_dict(path, entry.architecture, state, torch_keys(model))
  assign_torch_weights(model, state)
  return model
