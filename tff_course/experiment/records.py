"""What a run directory holds besides metrics: its config, versions, and the resume check."""

from __future__ import annotations

import json
import os
import re
from typing import Dict

from tff_course.atomic import write_text
from tff_course.errors import ConfigError
from tff_course.experiment.config import ExperimentConfig, from_dict
from tff_course.versions import environment_versions

CHECKPOINTS_DIR = "checkpoints"
CONFIG_FILE = "config.json"
VERSIONS_FILE = "versions.json"
MODEL_WEIGHTS = "model.weights.h5"
RESUMABLE_CHANGES = {("train", "rounds")}
EXECUTION_FIELDS = {("train", "workers")}


def record_run(run_dir: str, config: ExperimentConfig) -> None:
  """Writes the config and the library versions into `run_dir`."""
  write_text(os.path.join(run_dir, CONFIG_FILE), config.to_json())
  write_text(os.path.join(run_dir, VERSIONS_FILE),
             json.dumps(environment_versions(), indent=2) + "\n")


def check_resumable(run_dir: str, config: ExperimentConfig) -> bool:
  """True if `run_dir` holds an earlier run of this config (only the workers, and the
  rounds unless a learning-rate schedule spans them, may differ).

  Raises:
    ConfigError: the directory holds a run of a different config.
  """
  path = os.path.join(run_dir, CONFIG_FILE)
  if not os.path.isfile(path):
    return False
  with open(path, encoding="utf-8") as stream:
    saved = from_dict(json.load(stream))
  resumable = EXECUTION_FIELDS | (RESUMABLE_CHANGES if saved.train.lr_schedule == "constant"
                                  else set())
  differences = [f"{section}.{name}: {old!r} -> {new!r}"
                 for (section, name), (old, new) in _differences(saved, config).items()
                 if (section, name) not in resumable]
  if differences:
    raise ConfigError(
        f"{run_dir} holds a run of a different config ({'; '.join(differences)}); "
        f"refusing to resume it: choose another --out, or delete that one")
  return True


def save_model_weights(model, run_dir: str) -> str:
  """Writes the Keras model's weights to run_dir/model.weights.h5 (atomically); returns
  the path. A finished run leaves its final model there, for `model.load_weights`."""
  from tff_course.atomic import atomic_path

  path = os.path.join(run_dir, MODEL_WEIGHTS)
  with atomic_path(path) as temp:
    model.save_weights(temp)
  return path


_CHECKPOINT_NAME = re.compile(r"^(?:program_state_|ckpt-)(\d+)(?:\.index)?$")


def last_checkpoint_round(run_dir: str) -> int:
  """The round of the newest checkpoint in run_dir (TFF program state or, for the
  centralized baseline, a Keras checkpoint); 0 when there is none."""
  directory = os.path.join(run_dir, CHECKPOINTS_DIR)
  names = os.listdir(directory) if os.path.isdir(directory) else []
  return max((int(m.group(1)) for m in map(_CHECKPOINT_NAME.match, names) if m), default=0)


def _differences(old: ExperimentConfig, new: ExperimentConfig) -> Dict:
  old_raw, new_raw = old.to_dict(), new.to_dict()
  changes = {}
  for section in ("data", "train"):
    for name in set(old_raw[section]) | set(new_raw[section]):
      if old_raw[section].get(name) != new_raw[section].get(name):
        changes[(section, name)] = (old_raw[section].get(name), new_raw[section].get(name))
  if old_raw["name"] != new_raw["name"]:
    changes[("experiment", "name")] = (old_raw["name"], new_raw["name"])
  return changes
