"""A learning process whose clients keep state across rounds (SCAFFOLD's controls,
Ditto's personal models). TFF keeps no state on clients, so the caller passes the
sampled clients' states into a round and stores the new ones it returns
(tff_course.experiment.client_states does that for the runner)."""

from __future__ import annotations

import dataclasses
from typing import Any, List, Mapping, Sequence, Tuple

import numpy as np


@dataclasses.dataclass(frozen=True)
class ClientStateOutput:
  """A round's new server state, its metrics (the structure of a composed TFF learning
  process's: client_work.train, aggregator.bits_up and clients_dropped) and the sampled
  clients' new states, in the order they were given."""

  state: Any
  metrics: Mapping[str, Any]
  client_states: List[List[np.ndarray]]


class ClientStateProcess:
  """`initialize`, `next`, `get_model_weights` and `set_model_weights` as a TFF learning
  process has them; `next` also takes the sampled clients' states and returns their new
  ones. A client's state before it first takes part is zeros of `client_state_shapes`.

  Args:
    init_fn, next_fn: federated computations; `next_fn(state, data, client_states)`
      returns (state, metrics, client_states).
    client_state_shapes: the shapes of one client's state arrays (float32).
    state_keys: the server state's keys, "model" among them.
    name: the algorithm, for errors.
  """

  def __init__(self, init_fn, next_fn, client_state_shapes: Sequence[Tuple[int, ...]],
               state_keys: Sequence[str], name: str):
    self._init_fn = init_fn
    self._next_fn = next_fn
    self.client_state_shapes = tuple(tuple(shape) for shape in client_state_shapes)
    self.state_keys = tuple(state_keys)
    self.name = name

  def initialize(self):
    return self._init_fn()

  def initial_client_state(self) -> List[np.ndarray]:
    return [np.zeros(shape, np.float32) for shape in self.client_state_shapes]

  def next(self, state, client_data: Sequence, client_states: Sequence) -> ClientStateOutput:
    if len(client_states) != len(client_data):
      raise ValueError(f"{self.name} round: {len(client_data)} clients' data but "
                       f"{len(client_states)} client states")
    new_state, metrics, states = self._next_fn(state, list(client_data),
                                               [list(s) for s in client_states])
    return ClientStateOutput(new_state, metrics, [[np.asarray(v) for v in s] for s in states])

  @staticmethod
  def get_model_weights(state):
    return state["model"]

  def set_model_weights(self, state, weights):
    from tff_course.runtime.tff_module import tff

    model = tff.learning.models.ModelWeights(trainable=list(weights.trainable),
                                             non_trainable=list(weights.non_trainable))
    return {key: model if key == "model" else state[key] for key in self.state_keys}


def round_metrics(train_metrics, bits):
  """While tracing a federated computation: a round's server metrics in a composed TFF
  learning process's structure, from the aggregated training metrics and the clients'
  bits (CLIENTS-placed int64); no update is dropped."""
  from tff_course.runtime.tff_module import tff

  return tff.federated_zip({
      "client_work": tff.federated_zip({"train": train_metrics}),
      "aggregator": tff.federated_zip({
          "bits_up": tff.federated_sum(bits),
          "clients_dropped": tff.federated_value(np.int64(0), tff.SERVER)})})
