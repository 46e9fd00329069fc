"""DLG's LeNet, the shared gradient (also as the runner's FedSGD step computes it), the
attacks, and what they do with bad input."""


import numpy as np
import tensorflow as tf

from tasks.inversion.attacks import AttackConfig, Status, infer_labels, run_attack
from tasks.inversion.checks import GradientError
from tasks.inversion.experiment import build_attacked_model
from tasks.inversion.lbfgs import LbfgsConfig
from tasks.inversion.shared import fedsgd_client_gradient, shared_gradient
from tests.shared_data import requires_data, shared_data_dir
from tff_course.data import load_dataset
from tff_course.errors import ConfigError, DataError
from tff_course.models import build_model


_CIFAR = {}


def cifar_images(indices):
  if "train" not in _CIFAR:
    _CIFAR["train"] = load_dataset("cifar10", data_dir=shared_data_dir()).train
  train = _CIFAR["train"]
  return train.x[list(indices)], train.x[list(indices)] / np.float32(255), train.y[list(indices)]


def lenet_and_image():
  """DLG's LeNet at seed 0 and one uniform random 32x32 image (seed 0)."""
  image = np.random.default_rng(0).uniform(0, 1, (1, 32, 32, 3)).astype(np.float32)
  return build_attacked_model("dlg_lenet", 0), image


class SpareWeight(tf.keras.layers.Layer):
  """Passes its input through and owns a weight the output does not depend on."""

  def build(self, input_shape):
    self.spare = self.add_weight(name="spare", shape=(3,))

  def call(self, inputs):
    return inputs


class DlgLenetTest(tf.test.TestCase):

  def test_parameters_and_shapes(self):
    model = build_model("dlg_lenet", (32, 32, 3), 10)
    self.assertEqual(model.count_params(), 15_826)
    self.assertEqual([tuple(v.shape) for v in model.trainable_variables],
                     [(5, 5, 3, 12), (12,), (5, 5, 12, 12), (12,), (5, 5, 12, 12), (12,),
                      (768, 10), (10,)])
    self.assertEqual(build_model("dlg_lenet", (32, 32, 3), 100).count_params(), 85_036)

  def test_uniform_initialisation_from_the_seed(self):
    first = build_attacked_model("dlg_lenet", 3).get_weights()
    for weights in first:
      self.assertBetween(float(np.min(weights)), -0.5, 0.5)
      self.assertBetween(float(np.max(weights)), -0.5, 0.5)
    self.assertAllEqual(first[6], build_attacked_model("dlg_lenet", 3).get_weights()[6])


class AttackTest(tf.test.TestCase):

  def setUp(self):
    super().setUp()
    self.model, self.image = lenet_and_image()

  def test_idlg_label_from_the_last_layer(self):
    for label in (0, 4, 9):
      gradient = shared_gradient(self.model, self.image, [label])
      self.assertAllEqual(infer_labels(gradient[-2]), [label])

  def test_same_seed_same_attack(self):
    gradient = shared_gradient(self.model, self.image, [2])
    config = AttackConfig(iterations=2, seed=4, jit_compile=False)
    first, second = (run_attack(self.model, gradient, 1, config) for _ in range(2))
    self.assertAllEqual(first.images, second.images)
    self.assertEqual(first.losses, second.losses)
    self.assertLess(first.losses[1], first.losses[0])

  def test_line_search_never_increases_the_objective(self):
    gradient = shared_gradient(self.model, self.image, [2])
    config = AttackConfig(iterations=4, seed=1, restarts=0,
                          lbfgs=LbfgsConfig(line_search="strong_wolfe", max_iter=4))
    result = run_attack(self.model, gradient, 1, config)
    self.assertEqual(result.steps, 4)
    self.assertAllEqual(np.diff(result.losses + [result.objective]) <= 0, [True] * 4)
    self.assertLess(result.objective, 0.5 * result.losses[0])

  def test_diverging_optimizer_keeps_the_last_finite_images(self):
    inputs = tf.keras.Input((32, 32, 3))
    model = tf.keras.Model(inputs, tf.keras.layers.Dense(10)(tf.keras.layers.Flatten()(inputs)))
    gradient = shared_gradient(model, self.image, [2])
    config = AttackConfig(iterations=20, jit_compile=False,
                          lbfgs=LbfgsConfig(learning_rate=1e30, max_iter=3))
    result = run_attack(model, gradient, 1, config)
    self.assertEqual(result.status, Status.DIVERGED)
    self.assertRegex(result.message, "diverged at step 2 .*kept the last finite images")
    self.assertEqual(result.steps, 1)
    self.assertTrue(np.all(np.isfinite(result.images)))
    self.assertLen(result.losses, 1)

  def test_inverting_gradients_stays_in_the_box(self):
    gradient = shared_gradient(self.model, self.image, [7])
    result = run_attack(self.model, gradient, 1, AttackConfig(attack="ig", iterations=30))
    self.assertEqual(result.status, Status.FINISHED)
    self.assertAllEqual(result.labels, [7])
    self.assertBetween(float(result.images.min()), 0.0, 1.0)
    self.assertBetween(float(result.images.max()), 0.0, 1.0)
    self.assertLess(np.mean(result.losses[-5:]), np.mean(result.losses[:5]))
    self.assertEqual([s for s, _ in result.snapshots], [0, 3, 6, 9, 12, 15, 18, 21, 24, 27, 30])

  def test_bad_images(self):
    with self.assertRaisesRegex(DataError, r"image: got shape \(28, 28\), expected \(32, 32, 3\)"):
      shared_gradient(self.model, np.zeros((28, 28)), [0])
    with self.assertRaisesRegex(DataError, r"values in \[255, 255\], expected \[0, 1\] \(divide"):
      shared_gradient(self.model, np.full((32, 32, 3), 255.0), [0])
    with self.assertRaisesRegex(DataError, "label: got \\[10\\]"):
      shared_gradient(self.model, self.image, [10])

  def test_none_gradients(self):
    gradient = shared_gradient(self.model, self.image, [1])
    with self.assertRaisesRegex(GradientError, "entry for .*kernel.* is None"):
      run_attack(self.model, [None] + gradient[1:], 1, AttackConfig(iterations=1))
    with self.assertRaisesRegex(GradientError, "got 7 tensors, expected one per"):
      run_attack(self.model, gradient[1:], 1, AttackConfig(iterations=1))
    inputs = tf.keras.Input((32, 32, 3))
    flat = SpareWeight()(tf.keras.layers.Flatten()(inputs))
    model = tf.keras.Model(inputs, tf.keras.layers.Dense(10)(flat))
    with self.assertRaisesRegex(GradientError, "does not reach"):
      shared_gradient(model, self.image, [1])

  def test_bad_settings(self):
    with self.assertRaisesRegex(ConfigError, "attack: got 'gan'"):
      AttackConfig(attack="gan")
    with self.assertRaisesRegex(ConfigError, "iterations: got 0"):
      AttackConfig(iterations=0)


@requires_data("cifar10")
class CifarAttackTest(tf.test.TestCase):

  def test_dlg_recovers_a_cifar_image_and_its_label(self):
    _, images, labels = cifar_images([1])
    model = build_attacked_model("dlg_lenet", 1)
    gradient = shared_gradient(model, images, labels)
    result = run_attack(model, gradient, 1, AttackConfig(iterations=150, seed=1))
    self.assertLess(np.mean((result.images - images) ** 2), 1e-3)
    self.assertAllEqual(result.labels, labels)

  def test_fedsgd_client_gradient_is_the_shared_gradient(self):
    stored, images, labels = cifar_images([3, 4, 5])
    model = build_attacked_model("dlg_lenet", 2)
    weights = [v.numpy() for v in model.trainable_variables]
    expected = shared_gradient(model, images, labels)
    for batch_size in (None, 2):
      sent = fedsgd_client_gradient(lambda: build_attacked_model("dlg_lenet", 2), weights,
                                    stored, labels, batch_size=batch_size)
      for s, e in zip(sent, expected):
        self.assertAllClose(s, e, rtol=1e-5, atol=1e-6)

  def test_runner_fedsgd_round_steps_by_the_client_gradient(self):
    from tff_course.algorithms.fedsgd import build_fedsgd
    from tff_course.algorithms.model_fn import keras_model_fn
    from tff_course.data import Modality
    from tff_course.data.pipeline import make_tf_dataset

    stored, _, labels = cifar_images([7, 8])
    dataset = make_tf_dataset(stored, labels, Modality.IMAGE, batch_size=None)
    build = lambda: build_attacked_model("dlg_lenet", 5)
    process = build_fedsgd(keras_model_fn(build, dataset.element_spec), learning_rate=1.0)
    state = process.initialize()
    start = process.get_model_weights(state).trainable
    after = process.get_model_weights(process.next(state, [dataset]).state).trainable
    sent = fedsgd_client_gradient(build, start, stored, labels)
    for w0, w1, g in zip(start, after, sent):
      self.assertAllClose(w0 - w1, g, atol=2e-6)


class RetracingWarningTest(tf.test.TestCase):

  def test_new_functions_per_attack_do_not_warn_about_retracing(self):
    import logging
    from tff_course.tf_log import drop_retracing_warnings

    drop_retracing_warnings()
    drop_retracing_warnings()
    with self.assertLogs("tensorflow", level=logging.WARNING) as logs:
      for width in range(8):
        tf.function(lambda x: x * 2.0)(tf.zeros([width + 1]))
      logging.getLogger("tensorflow").warning("a warning that stays")
    self.assertEqual([r.getMessage() for r in logs.records], ["a warning that stays"])
