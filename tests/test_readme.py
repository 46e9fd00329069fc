"""The README's library example runs as printed (read from README.md, so they cannot drift)."""

import contextlib
import io
import os

import numpy as np
import tensorflow as tf

from tests.shared_data import requires_data, shared_data_dir

README = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "README.md")
MARKER = "<!-- tests/test_readme.py runs this block -->"
SPARSE_MARKER = "<!-- tests/test_readme.py runs this sparse block -->"
LARS_MARKER = "<!-- tests/test_readme.py runs this LARS block -->"


def readme_block(marker: str) -> str:
  """The ```python block right after `marker` in the README."""
  with open(README, encoding="utf-8") as stream:
    after = stream.read().split(marker, 1)[1]
  opening = "\n```python\n"
  if not after.startswith(opening):
    raise AssertionError(f"README: no ```python block right after {marker}")
  return after[len(opening):].split("\n```", 1)[0]


class ReadmeTest(tf.test.TestCase):

  def test_fedavg_example_trains_on_its_clients(self):
    tf.keras.utils.set_random_seed(0)
    namespace, printed = {}, io.StringIO()
    with contextlib.redirect_stdout(printed):
      exec(compile(readme_block(MARKER), README, "exec"), namespace)
    self.assertLen(printed.getvalue().splitlines(), 5)
    train = namespace["output"].metrics["client_work"]["train"]
    self.assertEqual(train["num_examples"], 4 * 60)
    self.assertGreater(train["accuracy"], 0.8)
    self.assertEqual([np.shape(w) for w in namespace["weights"]], [(20, 2), (2,)])

  @requires_data("weights", "resnet20-cifar10")
  def test_sparse_fine_tuning_example_runs_and_leaves_the_head_out(self):
    namespace, printed = {}, io.StringIO()
    block = readme_block(SPARSE_MARKER).replace('"../shared/data"', repr(shared_data_dir()))
    with contextlib.redirect_stdout(printed):
      exec(compile(block, README, "exec"), namespace)
    self.assertRegex(printed.getvalue(), r"^\d+\.\d%\n$")
    self.assertGreater(float(printed.getvalue().strip("%\n")), 50)
    masks = namespace["masks"]
    self.assertFalse(masks["linear/kernel"].any())

  def test_lars_example_compiles_a_model(self):
    namespace, printed = {}, io.StringIO()
    with contextlib.redirect_stdout(printed):
      exec(compile(readme_block(LARS_MARKER), README, "exec"), namespace)
    self.assertEqual(printed.getvalue(), "LARS, peak learning rate 0.8 after 250 warm-up steps\n")
    self.assertEqual(type(namespace["model"].optimizer).__name__, "LARS")


if __name__ == "__main__":
  tf.test.main()
