"""DLG with TensorFlow Probability's L-BFGS (the benchmark's comparison)."""

import tensorflow as tf

from tasks.inversion.attacks import AttackConfig, run_attack
from tasks.inversion.checks import GradientError
from tasks.inversion.lbfgs import LbfgsConfig
from tasks.inversion.shared import shared_gradient
from tasks.inversion.tfp_baseline import tfp_dlg
from tests.test_inversion_attacks import lenet_and_image


class TfpDlgTest(tf.test.TestCase):

  def setUp(self):
    super().setUp()
    self.model, image = lenet_and_image()
    self.gradient = shared_gradient(self.model, image, [5])

  def test_starts_from_dlgs_dummy_and_descends(self):
    config = AttackConfig(iterations=1, seed=2, jit_compile=False, restarts=0,
                          lbfgs=LbfgsConfig(max_iter=3))
    result = tfp_dlg(self.model, self.gradient, 1, config)
    ours = run_attack(self.model, self.gradient, 1, config)
    self.assertEqual(result.losses[0], ours.losses[0])
    self.assertAllEqual(result.snapshots[0][1], ours.snapshots[0][1])
    self.assertBetween(result.steps, 1, 3)
    self.assertLess(result.objective, result.losses[0])
    self.assertEqual(result.labels.shape, (1,))
    self.assertRegex(result.message, "TFP L-BFGS: converged False")

  def test_none_gradient(self):
    with self.assertRaisesRegex(GradientError, "is None"):
      tfp_dlg(self.model, [None] + self.gradient[1:], 1, AttackConfig(iterations=1))
