"""PyTorch and safetensors checkpoints read without PyTorch, and published models converted.

The files in tests/fixtures/torch were written by real PyTorch (write_fixtures.py there):
both torch.save formats, a Parameter, a transposed tensor, a view with an offset, half
and bfloat16.
"""

import io
import json
import os
import pickle
import struct
import zipfile
from unittest import mock

import numpy as np
import tensorflow as tf

from tests.shared_data import requires_data, shared_data_dir
from tff_course.checkpoints.pretrained import (PRETRAINED, load_pretrained,
                                               pretrained_weights_path)
from tff_course.checkpoints.safetensors_file import read_safetensors
from tff_course.checkpoints.state_dict import check_state_dict, read_state_dict
from tff_course.checkpoints.torch_file import read_torch_checkpoint
from tff_course.checkpoints.torch_layout import torch_keys
from tff_course.data.cifar import load_cifar10
from tff_course.errors import ConfigError, DataError
from tff_course.models.resnet_cifar import resnet20_cifar

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures", "torch")


def fixture(name):
  return os.path.join(FIXTURES, name)


class TorchFileTest(tf.test.TestCase):

  def setUp(self):
    super().setUp()
    self.expected = dict(np.load(fixture("expected.npz")))

  def test_both_torch_save_formats_give_the_tensors_torch_wrote(self):
    for name in ("zip.pth", "legacy.pth"):
      checkpoint = read_torch_checkpoint(fixture(name))
      self.assertEqual(checkpoint["epoch"], 3)
      self.assertEqual(checkpoint["args"].lr, 0.1)
      np.testing.assert_array_equal(checkpoint["parameter"], self.expected["parameter"])
      state = checkpoint["state_dict"]
      self.assertEqual(list(state), ["matrix", "integers", "transposed", "half", "bfloat16",
                                     "scalar", "row_view"])
      for key, value in state.items():
        self.assertIsInstance(value, np.ndarray)
        self.assertEqual(value.dtype, self.expected[key].dtype, f"{name} {key}")
        np.testing.assert_array_equal(value, self.expected[key], err_msg=f"{name} {key}")

  def test_safetensors_gives_the_same_tensors(self):
    tensors = read_safetensors(fixture("tensors.safetensors"))
    self.assertLen(tensors, 6)
    for key, value in tensors.items():
      self.assertEqual(value.dtype, self.expected[key].dtype)
      np.testing.assert_array_equal(value, self.expected[key])

  def test_a_pickle_that_would_run_code_is_refused_by_name(self):
    class Exploit:
      def __reduce__(self):
        return (os.system, ("echo pwned",))

    path = self.create_tempfile("evil.pth").full_path
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
      archive.writestr("archive/data.pkl", pickle.dumps({"x": Exploit()}, protocol=2))
    with open(path, "wb") as stream:
      stream.write(buffer.getvalue())
    with mock.patch("os.system") as system, self.assertRaisesRegex(
        DataError, r"evil.pth: it needs (posix|os)\.system, which this reader does not "):
      read_torch_checkpoint(path)
    system.assert_not_called()

  def test_files_that_are_not_checkpoints_are_one_line(self):
    path = self.create_tempfile("notes.pth", content="hello").full_path
    with self.assertRaisesRegex(DataError, "notes.pth: not a readable PyTorch checkpoint"):
      read_torch_checkpoint(path)
    with open(fixture("legacy.pth"), "rb") as stream:
      legacy = stream.read()
    cut = self.create_tempfile("cut.pth").full_path
    with open(cut, "wb") as stream:
      stream.write(legacy[:-40])
    with self.assertRaisesRegex(DataError, r"cut.pth: truncated (in|before) storage"):
      read_torch_checkpoint(cut)
    with self.assertRaisesRegex(DataError, "missing.pth: cannot be read"):
      read_torch_checkpoint(os.path.join(self.create_tempdir().full_path, "missing.pth"))
    header = json.dumps({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}})
    short = self.create_tempfile("short.safetensors").full_path
    with open(short, "wb") as stream:
      stream.write(struct.pack("<Q", len(header)) + header.encode() + b"\0" * 8)
    with self.assertRaisesRegex(DataError, "short.safetensors: truncated in tensor w"):
      read_safetensors(short)


class StateDictTest(tf.test.TestCase):

  def test_the_weights_are_found_under_state_dict_without_the_module_prefix(self):
    path = self.create_tempfile("wrapped.pth").full_path
    with mock.patch("tff_course.checkpoints.state_dict.read_torch_checkpoint",
                    return_value={"epoch": 1, "state_dict": {
                        "module.a.weight": np.ones(2), "module.b.bias": np.zeros(1)}}):
      state = read_state_dict(path)
    self.assertEqual(sorted(state), ["a.weight", "b.bias"])

  def test_another_architecture_names_missing_and_unexpected_keys(self):
    expected = {"conv1.weight": (16, 3, 3, 3), "linear.bias": (10,)}
    found = {"conv1.weight": np.zeros((16, 3, 3, 3)), "head.bias": np.zeros(10)}
    with self.assertRaisesRegex(DataError, r"^checkpoint f.pth: not a ResNet-20 checkpoint: "
                                           r"missing 1 keys \(linear.bias\); unexpected 1 "
                                           r"keys \(head.bias\)$"):
      check_state_dict("f.pth", "ResNet-20", found, expected)
    found = {"conv1.weight": np.zeros((8, 3, 3, 3)), "linear.bias": np.zeros(10)}
    with self.assertRaisesRegex(DataError, r"1 shapes differ: conv1.weight \(8, 3, 3, 3\) "
                                           r"\(expected \(16, 3, 3, 3\)\)"):
      check_state_dict("f.pth", "ResNet-20", found, expected)


class ResNet20Test(tf.test.TestCase):

  def test_keys_and_parameters_match_the_published_layout(self):
    keys = torch_keys(resnet20_cifar())
    self.assertLen(keys, 97)
    self.assertEqual(keys["layer2.0.conv1.weight"], (32, 16, 3, 3))
    self.assertEqual(keys["linear.weight"], (10, 64))
    trainable = sum(int(np.prod(v.shape)) for v in resnet20_cifar().trainable_weights)
    self.assertEqual(trainable, 269_722)

  @requires_data("weights", "resnet20-cifar10", "resnet20-12fca82f.th")
  def test_the_converted_checkpoint_classifies_cifar10_test_images(self):
    data_dir = shared_data_dir()
    model = load_pretrained("resnet20_cifar10", data_dir=data_dir)
    test = load_cifar10(os.path.join(data_dir, "cifar10", "cifar-10-batches-py"),
                        splits=("test",)).test
    logits = model.predict(test.x.astype(np.float32) / 255, batch_size=500, verbose=0)
    accuracy = float(np.mean(np.argmax(logits, 1) == test.y))
    self.assertGreater(accuracy, 0.89, f"{len(test.y)} test images")

  def test_a_checkpoint_of_another_architecture_is_one_line(self):
    with self.assertRaisesRegex(DataError, r"zip.pth: not a ResNet-20 checkpoint: missing "
                                           r"97 keys \(conv1.weight, bn1.weight, bn1.bias, "
                                           r"... 94 more\); unexpected 7 keys \(matrix, "):
      load_pretrained("resnet20_cifar10", weights=fixture("zip.pth"))

  def test_weights_come_from_the_file_named_else_the_data_dir_else_the_download(self):
    with self.assertRaisesRegex(DataError, "--weights: '/no/such.th' is not a file"):
      pretrained_weights_path("resnet20_cifar10", weights="/no/such.th")
    with self.assertRaisesRegex(ConfigError, "pretrained model: got 'vgg', expected one of "):
      pretrained_weights_path("vgg")
    published = PRETRAINED["resnet20_cifar10"].file
    empty = self.create_tempdir().full_path
    with mock.patch("tensorflow.keras.utils.get_file", return_value="/cache/r.th") as get:
      self.assertEqual(pretrained_weights_path("resnet20_cifar10", data_dir=empty),
                       "/cache/r.th")
    get.assert_called_once_with(published.name, published.origin, file_hash=published.sha256)
    folder = os.path.join(empty, "weights", "resnet20-cifar10")
    os.makedirs(folder)
    with open(os.path.join(folder, published.name), "wb") as stream:
      stream.write(b"partial")
    with self.assertRaisesRegex(DataError, "resnet20-12fca82f.th: sha256 .*, expected "
                                           + published.sha256):
      pretrained_weights_path("resnet20_cifar10", data_dir=empty)
