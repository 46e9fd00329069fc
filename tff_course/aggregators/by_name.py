"""The aggregator a run's config names, as a weighted `tff.aggregators` factory."""

from __future__ import annotations


def make_aggregator(train):
  """The factory for `train.aggregator` (a TrainConfig), with its options."""
  from tff_course.aggregators import group_mean, quantized, robust
  from tff_course.aggregators.weighted_sum import WeightedSumFactory

  if train.selection_weights == "unbiased":
    return WeightedSumFactory()
  if train.aggregator == "quantized":
    return quantized.QuantizedMeanFactory(train.quant_bits,
                                          stochastic=train.quant_rounding == "stochastic")
  if train.aggregator == "median":
    return robust.CoordinateMedianFactory()
  if train.aggregator == "trimmed_mean":
    return robust.TrimmedMeanFactory(train.trim_fraction)
  if train.aggregator == "group_mean":
    return group_mean.GroupMeanFactory()
  if train.aggregator == "krum":
    return robust.KrumFactory(train.byzantine)
  return quantized.MeanWithBitsFactory()
