"""The one place aggregators' `bits_up` is measured: TFF's `add_measurements` wrapper."""

from __future__ import annotations

import collections

from tff_course.aggregators.bits import federated_bits
from tff_course.runtime.tff_module import tff


class BitsUpFactory(tff.aggregators.WeightedAggregationFactory):
  """A weighted factory whose processes also measure `bits_up`: `bits_per_client(value_type,
  weight_type)` for every client that sent a weight, summed over the round's clients
  (int64, at the server), added to the measurements of `create_process`'s process by
  `tff.aggregators.add_measurements`. Subclasses define the two methods."""

  def bits_per_client(self, value_type, weight_type) -> int:
    """The bits one client sends for a value and weight of these types."""
    raise NotImplementedError

  def create_process(self, value_type, weight_type):
    """The aggregation process, without `bits_up`."""
    raise NotImplementedError

  def create(self, value_type, weight_type):
    def client_bits(value, weight):
      bits = self.bits_per_client(value.type_signature.member, weight.type_signature.member)
      return collections.OrderedDict(bits_up=federated_bits(weight, bits))

    return tff.aggregators.add_measurements(
        _Unmeasured(self), client_measurement_fn=client_bits).create(value_type, weight_type)


class _Unmeasured(tff.aggregators.WeightedAggregationFactory):
  """A BitsUpFactory's own process, for the wrapper to wrap."""

  def __init__(self, factory: BitsUpFactory):
    self.factory = factory

  def create(self, value_type, weight_type):
    return self.factory.create_process(value_type, weight_type)
