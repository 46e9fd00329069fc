"""A distributed training job as the worker processes receive it: the SlowMo settings, the
dataset and the model by name, as JSON."""

from __future__ import annotations

import dataclasses
import json
from typing import Callable, Optional, Tuple

import numpy as np

from tff_course.distributed.slowmo import SlowMoSettings


@dataclasses.dataclass(frozen=True)
class LocalSGDJob:
  """What every worker needs to take its part: settings, data and model."""

  settings: SlowMoSettings
  dataset: str = "cifar10"
  model: str = "cifar_convnet"
  data_dir: Optional[str] = None
  limit: Optional[int] = None

  def to_json(self) -> str:
    return json.dumps(dataclasses.asdict(self), sort_keys=True)

  @classmethod
  def from_json(cls, text: str) -> "LocalSGDJob":
    fields = json.loads(text)
    return cls(**{**fields, "settings": SlowMoSettings(**fields["settings"])})

  def load(self) -> Tuple[np.ndarray, np.ndarray, Callable[[], object]]:
    """(training inputs, labels, a function that builds the model)."""
    from tff_course.data.pipeline import model_inputs
    from tff_course.data.registry import load_dataset
    from tff_course.models import build_model

    dataset = load_dataset(self.dataset, data_dir=self.data_dir, limit=self.limit,
                           seed=self.settings.seed)
    x = model_inputs(dataset.train.x, dataset.modality)

    def build():
      return build_model(self.model, x.shape[1:], dataset.num_classes)

    return x, np.asarray(dataset.train.y), build
