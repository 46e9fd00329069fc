import numpy as np
import tensorflow as tf

from tff_course.aggregators.group_mean import GroupMeanFactory
from tff_course.errors import ConfigError
from tff_course.runtime.tff_module import tff

SHAPES = [(2, 3), (4,)]
VALUE_TYPE = tff.StructType([tff.TensorType(np.float32, s) for s in SHAPES])


def numpy_group_mean(values, counts, groups):
  """mean over present groups of each group's count-weighted mean."""
  result = []
  for i in range(len(SHAPES)):
    per_group = []
    for g in sorted(set(groups)):
      members = [k for k, gk in enumerate(groups) if gk == g]
      total = sum(counts[k] for k in members)
      per_group.append(sum(counts[k] * values[k][i] for k in members) / total)
    result.append(np.mean(per_group, axis=0))
  return result


class GroupMeanTest(tf.test.TestCase):

  def test_matches_numpy_and_differs_from_the_per_client_mean(self):
    rng = np.random.default_rng(0)
    groups, counts = [0, 0, 0, 0, 2], [10.0, 20.0, 5.0, 5.0, 7.0]
    values = [[rng.normal(size=s).astype(np.float32) + 3 * g for s in SHAPES] for g in groups]
    weights = [np.eye(3, dtype=np.float32)[g] * n for g, n in zip(groups, counts)]
    process = GroupMeanFactory().create(VALUE_TYPE, tff.TensorType(np.float32, [3]))
    output = process.next(process.initialize(), values, weights)
    expected = numpy_group_mean(values, counts, groups)
    for actual, wanted in zip(output.result, expected):
      self.assertAllClose(actual, wanted, rtol=1e-5, atol=1e-6)
    per_client = sum(n * v[1] for n, v in zip(counts, values)) / sum(counts)
    self.assertNotAllClose(output.result[1], per_client, atol=0.1)
    self.assertAllClose(output.measurements["group_weights"], [40.0, 0.0, 7.0])
    self.assertEqual(output.measurements["bits_up"], 5 * 32 * (6 + 4 + 2))

  def test_scalar_weights_are_refused(self):
    with self.assertRaisesRegex(ConfigError, "expected float32\\[num_groups\\] weights"):
      GroupMeanFactory().create(VALUE_TYPE, tff.TensorType(np.float32))


if __name__ == "__main__":
  tf.test.main()
