"""A distributed training job as its processes receive it: the settings, the dataset and the
model by name, as JSON."""

from __future__ import annotations

import dataclasses
import json
from typing import Callable, Optional, Tuple

import numpy as np

from tff_course.distributed.async_sgd import AsyncSettings
from tff_course.distributed.slowmo import SlowMoSettings
from tff_course.distributed.training_source import TrainingSource


@dataclasses.dataclass(frozen=True)
class _Job:
  """What every process needs to take its part: settings (of the subclass's SETTINGS type),
  data and model."""

  settings: object
  dataset: str = "cifar10"
  model: str = "cifar_convnet"
  data_dir: Optional[str] = None
  limit: Optional[int] = None

  SETTINGS = object

  def to_json(self) -> str:
    return json.dumps(dataclasses.asdict(self), sort_keys=True)

  @classmethod
  def from_json(cls, text: str):
    fields = json.loads(text)
    return cls(**{**fields, "settings": cls.SETTINGS(**fields["settings"])})

  @property
  def source(self) -> TrainingSource:
    return TrainingSource(self.dataset, self.model, self.data_dir, self.limit,
                          self.settings.seed)

  def load(self) -> Tuple[np.ndarray, np.ndarray, Callable[[], object]]:
    """(training inputs, labels, a function that builds the model)."""
    return self.source.load()

  def test_accuracy(self, weights) -> float:
    return self.source.test_accuracy(weights)


@dataclasses.dataclass(frozen=True)
class LocalSGDJob(_Job):
  """A Local SGD / SlowMo job."""

  SETTINGS = SlowMoSettings


@dataclasses.dataclass(frozen=True)
class AsyncJob(_Job):
  """An asynchronous (parameter-server) SGD job."""

  SETTINGS = AsyncSettings
