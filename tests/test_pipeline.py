"""Pipeline parallelism on stage processes: weights equal one-process SGD on the same
batches (GPipe and 1F1B, with random delays before dispatches; two pipelines of three
stages on the union of their batches), a killed stage named, the model's cut into stages,
and bad sizes in one line. The controller runs in a subprocess of its own
(it connects its process to the stages' cluster)."""

import json
import os
import subprocess
import sys

import tensorflow as tf
from absl.testing import parameterized

from tff_course.distributed.pipeline import micro_batches
from tff_course.distributed.pipeline_split import split_layers
from tff_course.errors import ConfigError

DRIVER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "programs",
                      "pipeline_driver.py")


def run_driver(*argv):
  return subprocess.run([sys.executable, DRIVER, *argv], capture_output=True, text=True,
                        timeout=240, check=False, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})


def drive(*argv):
  result = run_driver(*argv)
  assert result.returncode == 0, result.stderr[-3000:]
  return json.loads(result.stdout.strip().splitlines()[-1])


class PipelineTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.named_parameters(("1f1b", "1f1b", "3", "3"),
                                  ("gpipe_delayed", "gpipe", "4", "6", "delay"),
                                  ("two_pipelines", "1f1b", "3", "3", "pipelines=2"))
  def test_equals_single_process_sgd(self, *argv):
    result = drive(*argv)
    self.assertLess(result["difference"], 1e-5)
    self.assertEqual(result["passes"], 2 * int(argv[1]) * int(argv[2]))
    self.assertLen(result["losses"], 4)

  def test_a_killed_stage_ends_the_run_naming_it(self):
    result = run_driver("1f1b", "3", "3", "kill")
    self.assertNotEqual(result.returncode, 0)
    self.assertIn("ProcessFailed: stage 1 was killed by SIGKILL; stopped the other processes",
                  result.stderr)

  def test_split_is_contiguous_and_balanced(self):
    model = tf.keras.Sequential([tf.keras.Input((8,))] + [
        tf.keras.layers.Dense(units) for units in (64, 64, 8, 8, 64, 4)])
    groups = split_layers(model, 3)
    self.assertEqual([len(group) for group in groups], [1, 1, 4])
    self.assertEqual([layer for group in groups for layer in group], model.layers)

  def test_bad_sizes_are_one_line(self):
    model = tf.keras.Sequential([tf.keras.Input((3,)), tf.keras.layers.Dense(2)],
                                name="tiny")
    with self.assertRaisesRegex(ConfigError, r"^stages \(S\): got 2, but tiny has 1 layers; S "
                                             r"can be at most 1$"):
      split_layers(model, 2)
    with self.assertRaisesRegex(ConfigError, r"^micro_batches \(M\): a batch of 30 does not "
                                             r"cut into 4 equal micro-batches \(30 = 4 x 7 "
                                             r"\+ 2\); choose an M that divides it$"):
      micro_batches(30, 4)
    with self.assertRaisesRegex(ConfigError, r"^micro_batches \(M\): got 0"):
      micro_batches(30, 0)


if __name__ == "__main__":
  tf.test.main()
