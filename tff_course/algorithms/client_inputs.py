"""Feeding a learning process client inputs that a TFF computation turns into client data
where the clients train (as `tff.simulation.compose_dataset_computation_with_learning_process`
does, also for client data that is a structure of datasets)."""

from __future__ import annotations


def compose_client_inputs(input_computation, process):
  """A LearningProcess like `process` whose `next` takes {I}@CLIENTS, I being
  `input_computation`'s parameter, and maps `input_computation` over them first."""
  from tff_course.runtime.tff_module import tff

  state_type = process.next.type_signature.parameter[0]
  inputs_type = tff.FederatedType(input_computation.type_signature.parameter, tff.CLIENTS)

  @tff.federated_computation(state_type, inputs_type)
  def next_fn(state, client_inputs):
    return process.next(state, tff.federated_map(input_computation, client_inputs))

  return tff.learning.templates.LearningProcess(
      process.initialize, next_fn, process.get_model_weights, process.set_model_weights,
      get_hparams_fn=process.get_hparams, set_hparams_fn=process.set_hparams)
