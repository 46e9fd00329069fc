"""A distributed training job as the worker processes receive it: the SlowMo settings, the
dataset and the model by name, as JSON."""

from __future__ import annotations

import dataclasses
import json
from typing import Callable, Optional, Tuple

import numpy as np

from tff_course.distributed.slowmo import SlowMoSettings
from tff_course.distributed.training_source import TrainingSource


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

  @property
  def source(self) -> TrainingSource:
    return TrainingSource(self.dataset, self.model, self.data_dir, self.limit,
                          self.settings.seed)

  def load(self) -> Tuple[np.ndarray, np.ndarray, Callable[[], object]]:
    """(training inputs, labels, a function that builds the model)."""
    return self.source.load()

  def test_accuracy(self, weights) -> float:
    return self.source.test_accuracy(weights)
