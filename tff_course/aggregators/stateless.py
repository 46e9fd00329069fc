"""Aggregation processes without state, from a function of the clients' values and weights."""

from __future__ import annotations

from typing import Callable


def stateless_aggregation(value_type, weight_type, aggregate: Callable):
  """An AggregationProcess with state () whose `next` is `aggregate(value, weight)`,
  called while tracing a federated computation on the CLIENTS-placed values and
  weights, returning (server result, server measurements)."""
  from tff_course.runtime.tff_module import tff

  @tff.federated_computation
  def init_fn():
    return tff.federated_value((), tff.SERVER)

  @tff.federated_computation(init_fn.type_signature.result,
                             tff.FederatedType(value_type, tff.CLIENTS),
                             tff.FederatedType(weight_type, tff.CLIENTS))
  def next_fn(state, value, weight):
    result, measurements = aggregate(value, weight)
    return tff.templates.MeasuredProcessOutput(state, result, measurements)

  return tff.templates.AggregationProcess(init_fn, next_fn)
