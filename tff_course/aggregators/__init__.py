"""Aggregators as `tff.aggregators` factories, each reporting the bits its clients sent
(`bits_up` in its measurements, int64, summed over the round's clients), all through
one wrapper: a `BitsUpFactory` subclass gives its process and its bits per client.

| factory | what the server computes |
|---|---|
| MeanWithBitsFactory | TFF's weighted mean of float32 updates |
| QuantizedMeanFactory(nbit) | the weighted mean of n-bit (DoReFa) quantized updates |
| GroupMeanFactory | the mean over client groups of each group's weighted mean |
| CoordinateMedianFactory | the coordinate-wise median |
| TrimmedMeanFactory(trim_fraction) | the coordinate-wise trimmed mean |
| KrumFactory(num_byzantine) | Krum / Multi-Krum (Blanchard et al., 2017) |

The robust ones ignore example weights except that a client of weight 0 is left out.
The toolkit's learning processes put every aggregator behind `DropNonFiniteFactory`
(tff_course.aggregators.finite), the one place a non-finite client update is zeroed with
its weight and counted in `clients_dropped`.
"""

from tff_course.aggregators.bits_up import BitsUpFactory
from tff_course.aggregators.by_name import make_aggregator
from tff_course.aggregators.group_mean import GroupMeanFactory
from tff_course.aggregators.quantized import MeanWithBitsFactory, QuantizedMeanFactory
from tff_course.aggregators.robust import (CoordinateMedianFactory, KrumFactory,
                                           TrimmedMeanFactory)

__all__ = ["BitsUpFactory", "CoordinateMedianFactory", "GroupMeanFactory", "KrumFactory",
           "MeanWithBitsFactory", "QuantizedMeanFactory", "TrimmedMeanFactory", "make_aggregator"]
