"""The data and model of a distributed run, by name: training inputs and labels, a model
builder, and the test accuracy of trained weights."""

from __future__ import annotations

import dataclasses
from typing import Callable, Optional, Sequence, Tuple

import numpy as np


@dataclasses.dataclass(frozen=True)
class TrainingSource:
  """A dataset of the registry, a model of `tff_course.models`, where the files are."""

  dataset: str = "cifar10"
  model: str = "cifar_convnet"
  data_dir: Optional[str] = None
  limit: Optional[int] = None
  seed: int = 0

  def _dataset(self):
    from tff_course.data.registry import load_dataset

    return load_dataset(self.dataset, data_dir=self.data_dir, limit=self.limit, seed=self.seed)

  def load(self) -> Tuple[np.ndarray, np.ndarray, Callable[[], object]]:
    """(training inputs, labels, a function that builds the model)."""
    from tff_course.data.pipeline import model_inputs
    from tff_course.models import build_model

    dataset = self._dataset()
    x = model_inputs(dataset.train.x, dataset.modality)

    def build():
      return build_model(self.model, x.shape[1:], dataset.num_classes)

    return x, np.asarray(dataset.train.y), build

  def test_split(self) -> Tuple[np.ndarray, np.ndarray]:
    """(test inputs as the model takes them, labels)."""
    return self._test()[:2]

  def _test(self) -> Tuple[np.ndarray, np.ndarray, int]:
    from tff_course.data.pipeline import model_inputs

    dataset = self._dataset()
    return (model_inputs(dataset.test.x, dataset.modality), np.asarray(dataset.test.y),
            dataset.num_classes)

  def test_accuracy(self, weights: Sequence[np.ndarray]) -> float:
    """The accuracy of a model with these trainable weights on the test split."""
    return self.evaluator()(weights)

  def evaluator(self) -> Callable[[Sequence[np.ndarray]], float]:
    """A function from trainable weights to test accuracy that loads the test split and
    builds the model once."""
    from tff_course.models import build_model

    x, labels, num_classes = self._test()
    model = build_model(self.model, x.shape[1:], num_classes)

    def accuracy(weights: Sequence[np.ndarray]) -> float:
      for variable, value in zip(model.trainable_variables, weights):
        variable.assign(value)
      logits = model.predict(x, batch_size=500, verbose=0)
      return float(np.mean(np.argmax(logits, axis=1) == labels))

    return accuracy
