"""Sparse fine-tuning through the experiment runner: sparse_fedavg and centralized with
masks, from saved initial weights; what the bytes columns count; bad settings."""

import dataclasses
import os

import numpy as np
import tensorflow as tf

from tff_course.errors import ConfigError, DataError
from tff_course.experiment.config import DataConfig, ExperimentConfig, TrainConfig, validate
from tff_course.experiment.runner import run_experiment
from tff_course.models import build_model
from tff_course.sparse.mask_set import model_shapes, save_masks


class SparseRunTest(tf.test.TestCase):

  def setUp(self):
    super().setUp()
    folder = self.create_tempdir().full_path
    tf.keras.utils.set_random_seed(3)
    model = build_model("logistic", (10,), 4)
    self.init_weights = os.path.join(folder, "start.weights.h5")
    model.save_weights(self.init_weights)
    rng = np.random.default_rng(0)
    self.masks = {key: (rng.random(shape) < 0.5).astype(np.float32)
                  for key, shape in model_shapes(model).items()}
    self.masks_path = os.path.join(folder, "masks.npz")
    save_masks(self.masks_path, self.masks)
    self.opened = int(sum(mask.sum() for mask in self.masks.values()))

  def config(self, **train):
    return ExperimentConfig(
        name="sparse", data=DataConfig(dataset="toy_hetero", partition="natural",
                                       options={"num_clients": 6}),
        train=TrainConfig(**{"model": "logistic", "algorithm": "sparse_fedavg",
                             "masks": self.masks_path, "init_weights": self.init_weights,
                             "rounds": 2, "client_fraction": 0.5, "client_lr": 0.1,
                             "client_momentum": 0.9, "steps": 4, "epochs": None, **train}))

  def test_sparse_fedavg_sends_only_the_opened_entries(self):
    final = run_experiment(self.config(), self.create_tempdir().full_path, progress=False)
    self.assertEqual(final["clients"], 3)
    self.assertEqual(final["bytes_up"], 3 * (32 * self.opened + 32) // 8)
    self.assertEqual(final["bytes_down"], 3 * (10 * 4 + 4) * 4)
    self.assertGreater(final["test_accuracy"], 0.3)
    dense = run_experiment(self.config(sparse_upload=False), self.create_tempdir().full_path,
                           progress=False)
    self.assertEqual(dense["bytes_up"], 3 * (10 * 4 + 4 + 1) * 4)
    self.assertAlmostEqual(dense["test_accuracy"], final["test_accuracy"], places=6)

  def test_centralized_fine_tuning_starts_from_the_weights_under_the_masks(self):
    final = run_experiment(self.config(algorithm="centralized", rounds=1, batch_size=20,
                                       steps=None, epochs=1),
                           self.create_tempdir().full_path, progress=False)
    self.assertGreater(final["test_accuracy"], 0.3)

  def test_bad_settings_are_one_line(self):
    with self.assertRaisesRegex(ConfigError, r"^train.masks: got null, expected a masks file "):
      validate(dataclasses.replace(self.config(), train=dataclasses.replace(
          self.config().train, masks=None)))
    with self.assertRaisesRegex(ConfigError, r"^train.masks: got .*, but masks are for "
                                             r"sparse_fedavg and centralized fine-tuning"):
      validate(self.config(algorithm="fedavg"))
    with self.assertRaisesRegex(ConfigError, "train.aggregator: got 'median', expected "
                                             "'mean' for sparse_fedavg"):
      validate(self.config(aggregator="median"))
    with self.assertRaisesRegex(DataError, r"^train.init_weights: '/no/start.weights.h5' is "
                                           r"not a file"):
      run_experiment(self.config(init_weights="/no/start.weights.h5"),
                     self.create_tempdir().full_path, progress=False)
    other = os.path.join(self.create_tempdir().full_path, "masks.npz")
    save_masks(other, {"dense_9/kernel": np.ones((3, 3))})
    with self.assertRaisesRegex(ConfigError, r"^masks: 2 missing .*; 1 not in the model "
                                             r"\(dense_9/kernel\)"):
      run_experiment(self.config(masks=other), self.create_tempdir().full_path,
                     progress=False)
