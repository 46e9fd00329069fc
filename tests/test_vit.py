"""DINO's ViT-S/16 in Keras, converted from checkpoints in DINO's layout.

Random weights with the 150 keys and shapes of dino_deitsmall16_pretrain.pth are written
without PyTorch (torch.save's zip format, and safetensors as timm publishes), converted
by load_pretrained, and compared with a NumPy transcription of DINO's forward pass.
pos_embed.npz holds DINO's position-embedding resizing as real PyTorch computed it
(fixtures/torch/write_pos_embed.py).
"""

import os
from unittest import mock

import numpy as np
import scipy.special
import tensorflow as tf

from tests.checkpoint_files import write_safetensors, write_torch_zip
from tff_course.checkpoints.pos_embed import interpolate_pos_embed
from tff_course.checkpoints.pretrained import (PRETRAINED, load_pretrained,
                                               pretrained_weights_path)
from tff_course.checkpoints.torch_layout import torch_keys
from tff_course.errors import ConfigError, DataError
from tff_course.models import build_model
from tff_course.models.vit import vit_small

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures", "torch")
WIDTH, DEPTH, HEADS, PATCH = 384, 12, 6, 16
PARAMETERS = 21_665_664
MEAN = np.array([0.485, 0.456, 0.406])
STD = np.array([0.229, 0.224, 0.225])


def official_shapes(tokens=197):
  """The keys and shapes of dino_deitsmall16_pretrain.pth, in its order."""
  shapes = {"cls_token": (1, 1, WIDTH), "pos_embed": (1, tokens, WIDTH),
            "patch_embed.proj.weight": (WIDTH, 3, PATCH, PATCH),
            "patch_embed.proj.bias": (WIDTH,)}
  for index in range(DEPTH):
    block = f"blocks.{index}."
    shapes.update({
        block + "norm1.weight": (WIDTH,), block + "norm1.bias": (WIDTH,),
        block + "attn.qkv.weight": (3 * WIDTH, WIDTH), block + "attn.qkv.bias": (3 * WIDTH,),
        block + "attn.proj.weight": (WIDTH, WIDTH), block + "attn.proj.bias": (WIDTH,),
        block + "norm2.weight": (WIDTH,), block + "norm2.bias": (WIDTH,),
        block + "mlp.fc1.weight": (4 * WIDTH, WIDTH), block + "mlp.fc1.bias": (4 * WIDTH,),
        block + "mlp.fc2.weight": (WIDTH, 4 * WIDTH), block + "mlp.fc2.bias": (WIDTH,)})
  shapes.update({"norm.weight": (WIDTH,), "norm.bias": (WIDTH,)})
  return shapes


def random_state(seed=0):
  """Random float32 weights in the official layout: norm scales near 1, qkv large
  enough that attention is far from uniform (a wrong head split would show)."""
  rng = np.random.default_rng(seed)
  state = {}
  for key, shape in official_shapes().items():
    if key.endswith(("norm1.weight", "norm2.weight", "norm.weight")):
      value = 1 + 0.1 * rng.standard_normal(shape)
    elif "attn.qkv" in key:
      value = 0.1 * rng.standard_normal(shape)
    elif key == "patch_embed.proj.weight":
      value = 0.02 * rng.standard_normal(shape)
    else:
      value = 0.05 * rng.standard_normal(shape)
    state[key] = value.astype(np.float32)
  return state


def layer_norm(x, weight, bias):
  mean = x.mean(-1, keepdims=True)
  variance = ((x - mean) ** 2).mean(-1, keepdims=True)
  return (x - mean) / np.sqrt(variance + 1e-6) * weight + bias


def numpy_dino(state, images):
  """DINO's VisionTransformer.forward in float64 NumPy: the final-normed class token."""
  s = {key: value.astype(np.float64) for key, value in state.items()}
  x = (images - MEAN) / STD
  batch, size = x.shape[0], x.shape[1]
  grid = size // PATCH
  patches = x.reshape(batch, grid, PATCH, grid, PATCH, 3).transpose(0, 1, 3, 5, 2, 4)
  patches = patches.reshape(batch, grid * grid, 3 * PATCH * PATCH)
  tokens = patches @ s["patch_embed.proj.weight"].reshape(WIDTH, -1).T
  tokens += s["patch_embed.proj.bias"]
  cls = np.broadcast_to(s["cls_token"], (batch, 1, WIDTH))
  x = np.concatenate([cls, tokens], 1) + s["pos_embed"]
  count = x.shape[1]
  for index in range(DEPTH):
    prefix = f"blocks.{index}."
    b = {key[len(prefix):]: value for key, value in s.items() if key.startswith(prefix)}
    y = layer_norm(x, b["norm1.weight"], b["norm1.bias"])
    qkv = (y @ b["attn.qkv.weight"].T + b["attn.qkv.bias"]).reshape(
        batch, count, 3, HEADS, WIDTH // HEADS).transpose(2, 0, 3, 1, 4)
    logits = qkv[0] @ qkv[1].transpose(0, 1, 3, 2) * (WIDTH // HEADS) ** -0.5
    weights = np.exp(logits - logits.max(-1, keepdims=True))
    weights /= weights.sum(-1, keepdims=True)
    mixed = (weights @ qkv[2]).transpose(0, 2, 1, 3).reshape(batch, count, WIDTH)
    x = x + mixed @ b["attn.proj.weight"].T + b["attn.proj.bias"]
    y = layer_norm(x, b["norm2.weight"], b["norm2.bias"])
    y = y @ b["mlp.fc1.weight"].T + b["mlp.fc1.bias"]
    y = 0.5 * y * (1 + scipy.special.erf(y / np.sqrt(2)))
    x = x + y @ b["mlp.fc2.weight"].T + b["mlp.fc2.bias"]
  return layer_norm(x, s["norm.weight"], s["norm.bias"])[:, 0]


def images(size, seed=1):
  return np.random.default_rng(seed).uniform(0, 1, (2, size, size, 3)).astype(np.float32)


class ViTLayoutTest(tf.test.TestCase):

  def test_the_model_has_the_official_keys_shapes_and_parameter_count(self):
    expected = official_shapes()
    self.assertEqual(sum(int(np.prod(shape)) for shape in expected.values()), PARAMETERS)
    self.assertLen(expected, 150)
    model = vit_small()
    self.assertEqual(torch_keys(model), expected)
    self.assertEqual(model.count_params(), PARAMETERS)
    self.assertEqual(model.output_shape, (None, WIDTH))

  def test_build_model_gives_logits_for_square_images_of_whole_patches(self):
    model = build_model("vit_small", (32, 32, 3), 10)
    self.assertEqual(model.count_params(), PARAMETERS - 192 * WIDTH + 385 * 10)
    self.assertEqual(model(images(32)).shape, (2, 10))
    with self.assertRaisesRegex(ConfigError, r"^input_shape: got \(32, 48, 3\), expected "
                                             r"\(size, size, 3\) for vit_small$"):
      build_model("vit_small", (32, 48, 3), 10)
    with self.assertRaisesRegex(ConfigError, r"^image_size: got 40, expected a positive "
                                             r"multiple of the patch size 16$"):
      vit_small(image_size=40)

  def test_the_tiny_vit_for_cifar(self):
    model = build_model("vit_tiny", (32, 32, 3), 10)
    blocks = 4 * (64 * 192 + 192 + 64 * 64 + 64 + 64 * 128 + 128 + 128 * 64 + 64 + 4 * 64)
    embedding = 4 * 4 * 3 * 64 + 64 + 64 + 65 * 64
    self.assertEqual(model.count_params(), embedding + blocks + 2 * 64 + 64 * 10 + 10)
    self.assertEqual(model(images(32)).shape, (2, 10))
    with self.assertRaisesRegex(ConfigError, r"^image_size: got 30, expected a positive "
                                             r"multiple of the patch size 4$"):
      build_model("vit_tiny", (30, 30, 3), 10)

  def test_save_and_reload_round_trip(self):
    model = vit_small(image_size=32, depth=1, num_classes=3)
    path = os.path.join(self.create_tempdir().full_path, "vit.keras")
    model.save(path)
    self.assertAllClose(model(images(32)), tf.keras.models.load_model(path)(images(32)))


class ConversionTest(tf.test.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.state = random_state()

  def test_dinos_torch_checkpoint_gives_dinos_features(self):
    path = os.path.join(self.create_tempdir().full_path, "dino_deitsmall16_pretrain.pth")
    write_torch_zip(path, self.state)
    model = load_pretrained("dino_vits16", weights=path)
    pixels = images(224)
    self.assertAllClose(model(pixels), numpy_dino(self.state, pixels), atol=1e-4, rtol=0)

  def test_timms_safetensors_at_32_pixels_uses_dinos_resized_positions(self):
    path = os.path.join(self.create_tempdir().full_path, "model.safetensors")
    write_safetensors(path, self.state)
    model = load_pretrained("dino_vits16", weights=path, image_size=32)
    pos_embed = model.get_layer("embed").pos_embed.numpy()
    self.assertEqual(pos_embed.shape, (1, 5, WIDTH))
    np.testing.assert_array_equal(pos_embed[:, 0], self.state["pos_embed"][:, 0])
    resized = {**self.state, "pos_embed": interpolate_pos_embed(self.state["pos_embed"], 2)}
    pixels = images(32)
    self.assertAllClose(model(pixels), numpy_dino(resized, pixels), atol=1e-4, rtol=0)

  def test_missing_and_unexpected_keys_are_one_line(self):
    state = {key: value for key, value in self.state.items()
             if key != "blocks.5.mlp.fc2.bias"}
    state["head.weight"] = np.zeros((10, WIDTH), np.float32)
    path = os.path.join(self.create_tempdir().full_path, "other.safetensors")
    write_safetensors(path, state)
    with self.assertRaisesRegex(DataError, r"^checkpoint .*other.safetensors: not a DINO "
                                           r"ViT-S/16 checkpoint: missing 1 keys "
                                           r"\(blocks.5.mlp.fc2.bias\); unexpected 1 keys "
                                           r"\(head.weight\)$"):
      load_pretrained("dino_vits16", weights=path)


class PositionEmbeddingTest(tf.test.TestCase):

  def test_resizing_agrees_with_pytorch_running_dinos_code(self):
    expected = np.load(os.path.join(FIXTURES, "pos_embed.npz"))
    for grid in (2, 6, 20):
      resized = interpolate_pos_embed(expected["pos_embed"], grid)
      self.assertEqual(resized.dtype, np.float32)
      self.assertAllClose(resized, expected[f"grid{grid}"], atol=1e-5, rtol=0)

  def test_a_linear_grid_is_sampled_where_dino_samples_it(self):
    """On f = 2 row - 0.5 column + 3, output i of 2 samples DINO's position x = (i + 0.5)
    * 14 / 2.1 - 0.5. PyTorch's kernel (Keys' cubic, a = -0.75) has weights summing to 1
    but a first moment of t + d(t), d(t) = -(2a + 1) t (1 - t) (1 - 2t) for the fraction
    t of x, so it returns f at x + d(t) exactly (all four taps lie inside the 14-grid
    here): compared to 1e-5, ten times float32's rounding of values below 30. Against f
    at x itself the error is bounded by max |d| = sqrt(3) / 36 < 0.049 of a cell times
    the slopes, 2.5."""
    rows, columns = np.meshgrid(np.arange(14.0), np.arange(14.0), indexing="ij")
    linear = 2.0 * rows - 0.5 * columns + 3.0
    pos_embed = np.concatenate([np.full((1, 1), -7.0), linear.reshape(1, 196)], 1)
    pos_embed = np.repeat(pos_embed[:, :, None], 3, axis=2).astype(np.float32)
    resized = interpolate_pos_embed(pos_embed, 2)
    self.assertEqual(resized.shape, (1, 5, 3))
    np.testing.assert_array_equal(resized[0, 0], [-7.0] * 3)
    x = (np.arange(2) + 0.5) * 14 / 2.1 - 0.5
    t = x - np.floor(x)
    sampled = x + 0.5 * t * (1 - t) * (1 - 2 * t)
    analytic = 2.0 * sampled[:, None] - 0.5 * sampled[None, :] + 3.0
    self.assertAllClose(resized[0, 1:, 0], analytic.reshape(4), atol=1e-5, rtol=0)
    at_x = 2.0 * x[:, None] - 0.5 * x[None, :] + 3.0
    self.assertAllClose(resized[0, 1:, 0], at_x.reshape(4), atol=0.049 * 2.5, rtol=0)
    self.assertIs(interpolate_pos_embed(pos_embed, 14), pos_embed)
    with self.assertRaisesRegex(DataError, r"^pos_embed: 195 patch positions, expected a "
                                           r"square grid$"):
      interpolate_pos_embed(pos_embed[:, :196], 2)


class PublishedCheckpointTest(tf.test.TestCase):

  def test_resnet20_refuses_another_image_size(self):
    with self.assertRaisesRegex(ConfigError, r"^image_size: got 64, expected 32 for "
                                             r"ResNet-20 \(its checkpoint was trained on "
                                             r"32x32 CIFAR-10 images\)$"):
      load_pretrained("resnet20_cifar10", image_size=64)

  def test_dinos_file_has_no_published_hash_and_is_not_checked(self):
    published = PRETRAINED["dino_vits16"].file
    self.assertEqual(published.sha256, "")
    data_dir = self.create_tempdir().full_path
    with mock.patch("tensorflow.keras.utils.get_file", return_value="/cache/d.pth") as get:
      self.assertEqual(pretrained_weights_path("dino_vits16", data_dir=data_dir),
                       "/cache/d.pth")
    get.assert_called_once_with(published.name, published.origin, file_hash=None)
    folder = os.path.join(data_dir, "weights", "dino-vits16")
    os.makedirs(folder)
    local = os.path.join(folder, published.name)
    with open(local, "wb") as stream:
      stream.write(b"any content")
    self.assertEqual(pretrained_weights_path("dino_vits16", data_dir=data_dir), local)


if __name__ == "__main__":
  tf.test.main()
