"""BitsUpFactory: the one wrapper that adds `bits_up` to an aggregator's measurements."""

import numpy as np
import tensorflow as tf

import tff_course.aggregators as aggregators
from tff_course.aggregators.bits_up import BitsUpFactory
from tff_course.runtime.tff_module import tff

VALUE_TYPE = tff.TensorType(np.float32, (3,))
WEIGHT_TYPE = tff.TensorType(np.float32)


class _ClippedMean(BitsUpFactory):
  """TFF's mean behind norm clipping (whose measurements it keeps), 7 bits a client."""

  def bits_per_client(self, value_type, weight_type) -> int:
    return 7

  def create_process(self, value_type, weight_type):
    return tff.aggregators.clipping_factory(1.0, tff.aggregators.MeanFactory()).create(
        value_type, weight_type)


class BitsUpTest(tf.test.TestCase):

  def test_adds_bits_up_and_keeps_the_inner_measurements(self):
    process = _ClippedMean().create(VALUE_TYPE, WEIGHT_TYPE)
    values = [np.float32([3, 0, 4]), np.float32([0, 0, 0.5])]
    output = process.next(process.initialize(), values, [1.0, 1.0])
    self.assertEqual(output.measurements["bits_up"], 2 * 7)
    self.assertEqual(np.asarray(output.measurements["bits_up"]).dtype, np.int64)
    self.assertEqual(output.measurements["clipped_count"], 1)
    self.assertAllClose(output.measurements["clipping_norm"], 1.0)
    self.assertAllClose(output.result, [0.3, 0.0, 0.65])

  def test_every_aggregator_measures_bits_through_it(self):
    factories = [getattr(aggregators, name) for name in aggregators.__all__
                 if name.endswith("Factory") and name != "BitsUpFactory"]
    self.assertLen(factories, 6)
    for factory in factories:
      self.assertTrue(issubclass(factory, BitsUpFactory), factory.__name__)


if __name__ == "__main__":
  tf.test.main()
