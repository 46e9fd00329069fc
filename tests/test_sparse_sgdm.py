"""SparseSGDM against a NumPy transcription of PyTorch's SGD pseudo-code, under masks."""

import os

import numpy as np
import tensorflow as tf
from absl.testing import parameterized

from tff_course.errors import ConfigError
from tff_course.sparse.mask_set import (check_masks_cover, density, load_masks,
                                        matched_masks, model_shapes, save_masks)
from tff_course.sparse.sgdm import SparseSGDM
from tff_course.sparse.sgdm_step import SGDMSettings


def torch_sgd(params, grads_per_step, lr, momentum, dampening, nesterov, weight_decay,
              masks=None):
  """torch.optim.SGD's documented algorithm, one parameter; masked: g, b and the update."""
  p = params.astype(np.float64).copy()
  b = None
  for g in grads_per_step:
    g = g.astype(np.float64)
    if masks is not None:
      g = g * masks
    if weight_decay != 0:
      g = g + weight_decay * p * (masks if masks is not None else 1.0)
    if momentum != 0:
      b = g.copy() if b is None else momentum * b + (1 - dampening) * g
      if masks is not None:
        b = b * masks
      g = g + momentum * b if nesterov else b
    p = p - lr * g
  return p


def tiny_model(seed=0):
  tf.keras.utils.set_random_seed(seed)
  return tf.keras.Sequential([tf.keras.Input((5,)),
                              tf.keras.layers.Dense(4, activation="tanh", name="hidden"),
                              tf.keras.layers.Dense(3, name="head")])


class SparseSGDMTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.named_parameters(
      ("plain", 0.0, 0.0, False, 0.0),
      ("momentum", 0.9, 0.0, False, 0.0),
      ("dampening", 0.9, 0.3, False, 0.0),
      ("nesterov", 0.9, 0.0, True, 0.0),
      ("weight_decay", 0.8, 0.1, False, 5e-2),
      ("nesterov_decay", 0.5, 0.0, True, 1e-2),
  )
  def test_steps_match_pytorch_sgd_dense_and_masked(self, momentum, dampening, nesterov,
                                                    weight_decay):
    rng = np.random.default_rng(3)
    start = rng.normal(size=(6, 7)).astype(np.float32)
    grads = [rng.normal(size=(6, 7)).astype(np.float32) for _ in range(9)]
    mask = (rng.random((6, 7)) < 0.4).astype(np.float32)
    for masked in (False, True):
      variable = tf.Variable(start, name="w")
      optimizer = SparseSGDM(learning_rate=0.05, momentum=momentum, dampening=dampening,
                             nesterov=nesterov, weight_decay=weight_decay)
      optimizer.build([variable])
      if masked:
        optimizer.set_masks({"w": mask})
      for step, grad in enumerate(grads, start=1):
        optimizer.apply_gradients([(tf.constant(grad), variable)])
        expected = torch_sgd(start, grads[:step], 0.05, momentum, dampening, nesterov,
                             weight_decay, mask if masked else None)
        np.testing.assert_allclose(variable.numpy(), expected, atol=1e-6, rtol=1e-6,
                                   err_msg=f"step {step}, masked {masked}")
      if masked:
        frozen = mask == 0
        self.assertTrue(np.array_equal(variable.numpy()[frozen], start[frozen]))
        self.assertTrue(np.all(optimizer.momentum_buffers[0].numpy()[frozen] == 0))

  def test_masked_entries_stay_bit_identical_through_fit_and_a_reload(self):
    model = tiny_model()
    rng = np.random.default_rng(0)
    masks = {key: (rng.random(shape) < 0.3).astype(np.float32)
             for key, shape in model_shapes(model).items()}
    masks["head/kernel"][:] = 0
    masks["head/bias"][:] = 0
    optimizer = SparseSGDM(learning_rate=0.5, momentum=0.9, weight_decay=1e-3)
    optimizer.build(model.trainable_variables)
    optimizer.set_masks(masks)
    model.compile(optimizer=optimizer,
                  loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    before = {v.name: v.numpy() for v in model.trainable_variables}
    x = rng.normal(size=(64, 5)).astype(np.float32)
    y = rng.integers(0, 3, 64)
    model.fit(x, y, epochs=5, batch_size=8, verbose=0)
    path = os.path.join(self.create_tempdir().full_path, "model.keras")
    model.save(path)
    reloaded = tf.keras.models.load_model(path)
    self.assertIsInstance(reloaded.optimizer, SparseSGDM)
    self.assertEqual(reloaded.optimizer.get_config()["weight_decay"], 1e-3)
    for key, mask in reloaded.optimizer.current_masks().items():
      np.testing.assert_array_equal(mask, masks[key])
    reloaded.fit(x, y, epochs=3, batch_size=8, verbose=0)
    changed = 0
    for variable in reloaded.trainable_variables:
      key = variable.name.split(":")[0]
      frozen = masks[key] == 0
      self.assertTrue(np.array_equal(variable.numpy()[frozen], before[variable.name][frozen]))
      changed += int(np.sum(variable.numpy()[~frozen] != before[variable.name][~frozen]))
    self.assertGreater(changed, 0)

  def test_bad_settings_and_masks_are_one_line(self):
    with self.assertRaisesRegex(ConfigError, r"momentum: got 1.0, expected a number in "
                                             r"\[0, 1\)"):
      SGDMSettings(momentum=1.0)
    with self.assertRaisesRegex(ConfigError, "nesterov: needs momentum > 0 and dampening 0"):
      SGDMSettings(momentum=0.9, dampening=0.5, nesterov=True)
    with self.assertRaisesRegex(ConfigError, r"weight_decay: got -1"):
      SparseSGDM(weight_decay=-1)
    model = tiny_model()
    optimizer = SparseSGDM()
    with self.assertRaisesRegex(ConfigError, "optimizer is not built"):
      optimizer.set_masks({})
    optimizer.build(model.trainable_variables)
    masks = {key: np.ones(shape) for key, shape in model_shapes(model).items()}
    wrong = dict(masks, **{"head/kernel": np.ones((3, 4))})
    with self.assertRaisesRegex(ConfigError, r"^masks: head/kernel \(3, 4\) \(expected "
                                             r"\(4, 3\)\), the model's variable$"):
      optimizer.set_masks(wrong)
    fewer = {key: value for key, value in masks.items() if key != "hidden/bias"}
    fewer["other/kernel"] = np.ones(2)
    with self.assertRaisesRegex(ConfigError, r"^masks: 1 missing \(hidden/bias\); 1 not in "
                                             r"the model \(other/kernel\); expected one mask "
                                             r"per trainable variable \(4\)$"):
      optimizer.set_masks(fewer)
    with self.assertRaisesRegex(ConfigError, "head/bias holds values other than 0 and 1"):
      check_masks_cover(dict(masks, **{"head/bias": np.full(3, 0.5)}), model_shapes(model))

  def test_masks_of_automatically_named_layers_match_by_position(self):
    shapes = {"dense_4/kernel": (5, 4), "dense_4/bias": (4,)}
    other_names = {"dense/kernel": np.ones((5, 4)), "dense/bias": np.zeros(4)}
    matched = matched_masks(other_names, shapes)
    self.assertEqual(list(matched), ["dense_4/kernel", "dense_4/bias"])
    np.testing.assert_array_equal(matched["dense_4/bias"], np.zeros(4))
    swapped = {"dense/bias": np.zeros(4), "dense/kernel": np.ones((5, 4))}
    with self.assertRaisesRegex(ConfigError, r"masks: 2 missing \(dense_4/kernel, "):
      matched_masks(swapped, shapes)
    with self.assertRaisesRegex(ConfigError, r"masks: 1 missing \(dense_4/bias\)"):
      matched_masks({"dense_4/kernel": np.ones((5, 4)), "dense/bias": np.zeros(4)}, shapes)

  def test_masks_are_saved_and_loaded_with_the_run(self):
    masks = {"a/kernel": np.array([[1, 0], [0, 1]], np.float32), "b/bias": np.zeros(3)}
    path = os.path.join(self.create_tempdir().full_path, "run", "masks.npz")
    save_masks(path, masks)
    loaded = load_masks(path)
    self.assertEqual(sorted(loaded), ["a/kernel", "b/bias"])
    np.testing.assert_array_equal(loaded["a/kernel"], masks["a/kernel"])
    self.assertAlmostEqual(density(loaded), 2 / 7)
    self.assertEqual(os.listdir(os.path.dirname(path)), ["masks.npz"])
