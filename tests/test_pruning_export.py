import os
import warnings

import h5py
import numpy as np
import tensorflow as tf

from pruning.export import load_h5, read_layer_weights, save_h5
from pruning.masks import apply_masks, global_magnitude_masks, kernels
from pruning.reference import PARAMETER_COUNT, Arrays, build_reference_model
from pruning.score import score_model
from tff_course.errors import ConfigError, DataError


def pruned_reference(seed=0):
  model = build_reference_model(seed=seed)
  apply_masks(model, global_magnitude_masks(kernels(model), 500_000))
  return model


def images(n=40, seed=0):
  rng = np.random.default_rng(seed)
  return Arrays(rng.random((n, 32, 32, 3), np.float32), rng.integers(0, 5, n))


class RoundTripTest(tf.test.TestCase):

  def test_reference_parameter_count(self):
    self.assertEqual(build_reference_model().count_params(), PARAMETER_COUNT)

  def test_reload_gives_the_same_weights_and_score(self):
    model = pruned_reference()
    path = save_h5(model, os.path.join(self.create_tempdir().full_path, "m.h5"))
    reloaded = load_h5(path)
    for a, b in zip(model.get_weights(), reloaded.get_weights()):
      self.assertAllEqual(a, b)
    self.assertEqual(score_model(reloaded, images()), score_model(model, images()))

  def test_keras_reads_the_file_as_the_autograder_would(self):
    model = pruned_reference()
    path = save_h5(model, os.path.join(self.create_tempdir().full_path, "m.h5"))
    loaded = tf.keras.models.load_model(path, compile=False)
    fresh = build_reference_model()
    fresh.load_weights(path)
    for a, b, c in zip(model.get_weights(), loaded.get_weights(), fresh.get_weights()):
      self.assertAllEqual(a, b)
      self.assertAllEqual(a, c)

  def test_save_weights_files_load_too(self):
    model = pruned_reference()
    path = os.path.join(self.create_tempdir().full_path, "w.h5")
    model.save_weights(path)
    for loaded, saved in zip(load_h5(path).get_weights(), model.get_weights(), strict=True):
      self.assertAllEqual(loaded, saved)


class BadFileTest(tf.test.TestCase):

  def setUp(self):
    super().setUp()
    self.directory = self.create_tempdir().full_path

  def test_other_architecture_names_the_layer_and_shape(self):
    layers = tf.keras.layers
    other = tf.keras.Sequential([
        layers.InputLayer(input_shape=(32, 32, 3)),
        layers.Flatten(), layers.Dense(256, name="dense1"), layers.Dense(128, name="dense2"),
        layers.Dense(5, name="logits")])
    path = os.path.join(self.directory, "other.h5")
    with warnings.catch_warnings():
      warnings.simplefilter("ignore", UserWarning)
      other.save(path, save_format="h5")
    with self.assertRaisesRegex(DataError, r"other.h5: layer 1 \('dense1'\) weight "
                                           r"'dense1/kernel:0' has shape \(3072, 256\), "
                                           r"expected \(3072, 185\)"):
      load_h5(path)

  def test_missing_layer(self):
    small = tf.keras.Sequential([tf.keras.layers.InputLayer(input_shape=(4,)),
                                 tf.keras.layers.Dense(5, name="logits")])
    path = os.path.join(self.directory, "small.h5")
    small.save_weights(path)
    with self.assertRaisesRegex(DataError, r"1 layers with weights \(logits\), expected 3"):
      load_h5(path)

  def test_truncated_file(self):
    path = save_h5(pruned_reference(), os.path.join(self.directory, "m.h5"))
    with open(path, "rb") as stream:
      head = stream.read(os.path.getsize(path) // 2)
    with open(path, "wb") as stream:
      stream.write(head)
    with self.assertRaisesRegex(DataError, "m.h5: not a readable Keras .h5 file"):
      load_h5(path)

  def test_corrupt_and_missing_files(self):
    path = os.path.join(self.directory, "noise.h5")
    with open(path, "wb") as stream:
      stream.write(np.random.default_rng(0).bytes(4096))
    with self.assertRaisesRegex(DataError, "noise.h5: not a readable Keras .h5 file"):
      read_layer_weights(path)
    with self.assertRaisesRegex(DataError, "absent.h5: no such file"):
      load_h5(os.path.join(self.directory, "absent.h5"))

  def test_hdf5_without_keras_weights(self):
    path = os.path.join(self.directory, "data.h5")
    with h5py.File(path, "w") as stream:
      stream["x"] = np.zeros(3)
    with self.assertRaisesRegex(DataError, "data.h5: an HDF5 file but not Keras weights"):
      load_h5(path)

  def test_save_refuses_other_names_and_models(self):
    with self.assertRaisesRegex(ConfigError, "expected a file name ending in .h5"):
      save_h5(pruned_reference(), os.path.join(self.directory, "m.keras"))
    with self.assertRaisesRegex(DataError, "expected 3 .* of the reference network"):
      save_h5(tf.keras.Sequential([tf.keras.layers.Dense(2, input_shape=(3,))]),
              os.path.join(self.directory, "x.h5"))
    self.assertEqual(os.listdir(self.directory), [])


if __name__ == "__main__":
  tf.test.main()
