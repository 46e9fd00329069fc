"""`tff-course sparse prepare`: head, masks and a run config from the real ResNet-20 on
Fashion-MNIST; the same folder twice; central and federated calibration; bad input."""

import json
import os

import numpy as np
import tensorflow as tf

from tests.cli_runner import run_main
from tests.shared_data import requires_data, shared_data_dir
from tff_course.cli.main import main
from tff_course.errors import ConfigError
from tff_course.experiment.config import load_config
from tff_course.sparse.mask_set import load_masks
from tff_course.sparse.prepare import PrepareSettings, head_key, prepare

def run_cli(argv):
  return run_main(main, *argv)


def _arrays(path):
  """Every array in a Keras weights file, by its path in the file."""
  import h5py

  found = {}
  with h5py.File(path, "r") as weights:
    weights.visititems(lambda name, item: found.__setitem__(name, item[()])
                       if isinstance(item, h5py.Dataset) else None)
  return found


SMALL = PrepareSettings(head_examples=300, calibration_examples=32, rounds=2, density=0.2,
                        fisher_batch=16, limit=2000)


@requires_data("weights", "resnet20-cifar10")
class PrepareTest(tf.test.TestCase):

  def test_the_command_writes_weights_masks_and_a_config_that_trains(self):
    out = os.path.join(self.create_tempdir().full_path, "prepared")
    code, stdout, stderr = run_cli(
        ["sparse", "prepare", "--data-dir", shared_data_dir(), "--out", out,
         "--head-examples", "300", "--calibration-examples", "32", "--calibration-rounds",
         "2", "--density", "0.2", "--head", "ridge", "--limit", "2000", "--no-progress"])
    self.assertEqual(code, 0, stderr)
    self.assertIn("masks (central): kept fraction per round 0.447, 0.200", stdout)
    for name in ("init.weights.h5", "masks.npz", "prepare.json", "mask-density.png",
                 "sparse-fedavg.json"):
      self.assertTrue(os.path.isfile(os.path.join(out, name)), name)
    with open(os.path.join(out, "prepare.json"), encoding="utf-8") as stream:
      summary = json.load(stream)
    self.assertGreater(summary["head_test_accuracy"], 0.5)
    self.assertEqual(summary["test_examples"], 2000)
    masks = load_masks(os.path.join(out, "masks.npz"))
    self.assertFalse(masks["linear/kernel"].any())
    eligible = np.concatenate([masks[key].ravel() for key in summary["eligible"]])
    self.assertAlmostEqual(float(eligible.mean()), 0.2, delta=0.001)
    config = load_config(os.path.join(out, "sparse-fedavg.json"))
    self.assertEqual((config.train.algorithm, config.train.model, config.data.num_clients,
                      config.train.client_fraction, config.train.steps),
                     ("sparse_fedavg", "resnet20_cifar", 100, 0.1, 4))
    self.assertEqual(config.data.limit, 2000)
    code, _, stderr = run_cli(["sparse", "prepare", "--data-dir", shared_data_dir(),
                               "--out", out, "--density", "0.5", "--no-progress"])
    self.assertEqual(code, 2)
    self.assertRegex(stderr, r"^tff-course: error: .*prepared: holds a preparation of other "
                             r"settings .*; use another --out or remove it\n$")

  def test_federated_calibration_sums_the_clients_scores(self):
    out = self.create_tempdir().full_path
    clients = [np.arange(1000 + 16 * i, 1000 + 16 * (i + 1)) for i in range(2)]
    summary = prepare(SMALL, out, data_dir=shared_data_dir(), client_indices=clients,
                      progress=False)
    self.assertEqual((summary["calibration"], summary["clients"]), ("federated", 2))
    self.assertAlmostEqual(summary["rounds"][-1]["density"], 0.2, delta=0.001)
    again = prepare(SMALL, out, data_dir=shared_data_dir(), client_indices=clients)
    self.assertEqual(again["seconds"], summary["seconds"])
    with self.assertRaisesRegex(ConfigError, "holds a preparation of other settings"):
      prepare(SMALL, out, data_dir=shared_data_dir())

  def test_a_head_fitted_once_serves_preparations_of_other_masks(self):
    import dataclasses

    root = self.create_tempdir().full_path
    cache = os.path.join(root, "heads")
    first = prepare(SMALL, os.path.join(root, "a"), data_dir=shared_data_dir(),
                    head_cache=cache, progress=False)
    other = dataclasses.replace(SMALL, density=0.5, rule="random")
    second = prepare(other, os.path.join(root, "b"), data_dir=shared_data_dir(),
                     head_cache=cache, progress=False)
    self.assertEqual((first["head_cached"], second["head_cached"]), (False, True))
    self.assertEqual(second["head_test_accuracy"], first["head_test_accuracy"])
    first_weights, second_weights = (_arrays(os.path.join(root, name, "init.weights.h5"))
                                     for name in ("a", "b"))
    self.assertEqual(sorted(first_weights), sorted(second_weights))
    for name, value in first_weights.items():
      np.testing.assert_array_equal(second_weights[name], value, err_msg=name)
    self.assertNotEqual(head_key(dataclasses.replace(other, seed=1), None),
                        head_key(other, None))
    self.assertEqual(head_key(other, None), head_key(SMALL, None))
    self.assertNotEqual(head_key(dataclasses.replace(SMALL, limit=None), None),
                        head_key(SMALL, None))


class PrepareSettingsTest(tf.test.TestCase):

  def test_bad_settings_are_one_line(self):
    for changes, message in (
        ({"density": 0.0}, r"density: got 0.0, expected a number in \(0, 1\]"),
        ({"rounds": 0}, "calibration rounds: got 0, expected an integer >= 1"),
        ({"rule": "smallest"}, "rule: got 'smallest', expected one of least_sensitive"),
        ({"pretrained": "vgg16"}, "pretrained: got 'vgg16', expected one of resnet20_cifar10"),
        ({"head": "svm"}, "head: got 'svm', expected one of ridge, train"),
        ({"calibration_examples": 0}, "calibration_examples: got 0, expected a whole"),
        ({"limit": 0}, r"limit: got 0, expected a whole number >= 1 \(examples per split\) "
                       "or none"),
    ):
      with self.assertRaisesRegex(ConfigError, message):
        PrepareSettings(**changes)

  def test_the_command_explains_itself(self):
    code, stdout, _ = run_cli(["sparse", "prepare", "--help"])
    self.assertEqual(code, 0)
    for option in ("--density", "--calibration-rounds", "--rule", "--federated-clients",
                   "--weights", "--head"):
      self.assertIn(option, stdout)
    code, _, stderr = run_cli(["sparse", "prepare", "--density", "1.5", "--out",
                               self.create_tempdir().full_path])
    self.assertEqual(code, 2)
    self.assertIn("density: got 1.5, expected a number in (0, 1]", stderr)
