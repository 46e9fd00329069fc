"""How a model does on each client's own held-out examples: per-client accuracy, its
unweighted mean over clients, low percentiles and histogram (the spread personalization
and client selection are judged by)."""

from __future__ import annotations

import dataclasses
from typing import Callable, Hashable, List, Optional, Sequence, Tuple

import numpy as np

from tff_course.data.dataset import Modality, Split
from tff_course.errors import DataError


@dataclasses.dataclass(frozen=True)
class ClientAccuracy:
  """Per client (sorted by id): its id, correct predictions and held-out examples."""

  clients: np.ndarray
  correct: np.ndarray
  examples: np.ndarray

  @property
  def accuracies(self) -> np.ndarray:
    return self.correct / self.examples

  def mean(self) -> float:
    """The mean over clients, each counting once whatever its size."""
    return float(np.mean(self.accuracies))

  def percentile(self, q: float) -> float:
    """The q-th percentile of the clients' accuracies (10: the worst-off tenth)."""
    return float(np.percentile(self.accuracies, q))


def client_accuracy(predicted: np.ndarray, labels: np.ndarray,
                    client_ids: Optional[np.ndarray]) -> ClientAccuracy:
  """Per-client accuracy of `predicted` labels against `labels`, grouped by `client_ids`.

  Raises:
    DataError: the split has no client ids, or the arrays differ in length.
  """
  if client_ids is None:
    raise DataError("per-client accuracy: the split has no client ids; expected a dataset "
                    "with natural clients (e.g. leaf_shakespeare) or held-out examples "
                    "tagged with their client")
  if not len(predicted) == len(labels) == len(client_ids):
    raise DataError(f"per-client accuracy: got {len(predicted)} predictions, {len(labels)} "
                    f"labels and {len(client_ids)} client ids; expected equal lengths")
  clients, index = np.unique(client_ids, return_inverse=True)
  correct = np.bincount(index, weights=(predicted == labels).astype(np.float64),
                        minlength=len(clients))
  examples = np.bincount(index, minlength=len(clients)).astype(np.float64)
  return ClientAccuracy(clients, correct, examples)


def evaluate_clients(keras_model, split: Split, modality: Modality) -> ClientAccuracy:
  """`keras_model`'s accuracy on each client's examples of `split`."""
  from tff_course.algorithms.evaluation import predicted_labels

  return client_accuracy(predicted_labels(keras_model, split.x, modality), split.y,
                         split.client_ids)


def assign_model(keras_model, trainable: Sequence[np.ndarray],
                 non_trainable: Sequence[np.ndarray]) -> None:
  """Sets `keras_model`'s trainable and non-trainable weights, in Keras' order."""
  for variable, value in zip(keras_model.trainable_weights + keras_model.non_trainable_weights,
                             list(trainable) + list(non_trainable)):
    variable.assign(value)


def evaluate_personal(keras_model, split: Split, modality: Modality,
                      weights_of: Callable[[Hashable], Tuple[List[np.ndarray],
                                                             List[np.ndarray]]]
                      ) -> ClientAccuracy:
  """Each client's accuracy on its examples of `split` under its own model
  (`weights_of(client id)`: trainable and non-trainable arrays, assigned to `keras_model`
  in turn)."""
  from tff_course.algorithms.evaluation import predicted_labels

  if split.client_ids is None:
    raise DataError("personal accuracy: the split has no client ids; expected held-out "
                    "examples tagged with their client (data.client_holdout)")
  predicted = np.zeros(len(split.y), np.int64)
  for client in np.unique(split.client_ids):
    rows = np.flatnonzero(split.client_ids == client)
    assign_model(keras_model, *weights_of(client))
    predicted[rows] = predicted_labels(keras_model, split.x[rows], modality)
  return client_accuracy(predicted, split.y, split.client_ids)
