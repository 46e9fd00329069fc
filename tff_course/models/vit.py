"""ViT-S/16 as DINO trained it, laid out as the published PyTorch model.

Dosovitskiy et al., "An Image is Worth 16x16 Words" (ICLR 2021), as Caron et al.,
"Emerging Properties in Self-Supervised Vision Transformers" (ICCV 2021, DINO) and timm
implement it: 16x16 patches embedded by a stride-16 convolution; a learned class token
and a learned position embedding for 1 + N tokens; pre-norm blocks (LayerNorm epsilon
1e-6, softmax self-attention with one fused qkv projection and scale head_dim^-0.5, an
MLP with exact, erf-based GELU), each added to its input; a final LayerNorm; the class
token's 384 features out, or logits of a linear head on them. Layers are named as the
checkpoint's keys ("blocks.0.attn.qkv"), so converting is a lookup (the class token and
position embedding by `ClassTokenPositions.torch_weights`).

The model takes pixel values in [0, 1] (as every image model of the toolkit) and
normalizes them with ImageNet's mean and standard deviation, as DINO's training and timm's
"vit_small_patch16_224.dino" do. It has no dropout or stochastic depth (DINO's training
script defaults to stochastic depth 0.1), so fine-tuning it is not DINO's training.
"""

from __future__ import annotations

from typing import Sequence

from tff_course.errors import ConfigError

LAYER_NORM_EPSILON = 1e-6


def vit_small(image_size: int = 224, patch_size: int = 16, width: int = 384,
              depth: int = 12, heads: int = 6, mlp_ratio: int = 4, num_classes: int = 0,
              name: str = "vit_small"):
  """DINO's ViT-S/16 (21,665,664 parameters at 224x224 without a head).

  Raises:
    ConfigError: an image size not a multiple of the patch size, or a width the heads
      do not divide.
  """
  import tensorflow as tf

  from tff_course.models.pixels import imagenet_normalization
  from tff_course.models.vit_layers import ClassTokenPositions

  if image_size <= 0 or image_size % patch_size:
    raise ConfigError(f"image_size: got {image_size}, expected a positive multiple of the "
                      f"patch size {patch_size}")
  if width % heads:
    raise ConfigError(f"width: got {width}, expected a multiple of the {heads} heads")
  layers = tf.keras.layers
  inputs = tf.keras.Input(shape=(image_size, image_size, 3))
  x = imagenet_normalization()(inputs)
  x = layers.Conv2D(width, patch_size, strides=patch_size, name="patch_embed.proj")(x)
  x = layers.Reshape((-1, width))(x)
  x = ClassTokenPositions(name="embed")(x)
  for index in range(depth):
    x = _block(x, heads, mlp_ratio, f"blocks.{index}")
  x = layers.LayerNormalization(epsilon=LAYER_NORM_EPSILON, name="norm")(x)
  outputs = x[:, 0]
  if num_classes:
    outputs = layers.Dense(num_classes, name="head")(outputs)
  return tf.keras.Model(inputs, outputs, name=name)


def vit_small_for_shape(input_shape: Sequence[int] = (224, 224, 3), num_classes: int = 0):
  """`vit_small` for `build_model`: square RGB images of `input_shape`, a head of
  `num_classes` logits (none: the 384 features).

  Raises:
    ConfigError: a shape other than (size, size, 3).
  """
  shape = tuple(input_shape)
  if len(shape) != 3 or shape[0] != shape[1] or shape[2] != 3:
    raise ConfigError(f"input_shape: got {shape}, expected (size, size, 3) for vit_small")
  return vit_small(image_size=shape[0], num_classes=num_classes)


def vit_tiny_for_shape(input_shape: Sequence[int] = (32, 32, 3), num_classes: int = 10):
  """A small ViT for 32x32 images (Dosovitskiy et al.'s design at CIFAR scale, as Qu et
  al. 2022 compare architectures under heterogeneity): 4x4 patches, width 64, 4 blocks of
  4 heads, MLP ratio 2, a linear head on the class token.

  Raises:
    ConfigError: a shape other than (size, size, 3) with size a multiple of 4.
  """
  shape = tuple(input_shape)
  if len(shape) != 3 or shape[0] != shape[1] or shape[2] != 3:
    raise ConfigError(f"input_shape: got {shape}, expected (size, size, 3) for vit_tiny")
  return vit_small(image_size=shape[0], patch_size=4, width=64, depth=4, heads=4,
                   mlp_ratio=2, num_classes=num_classes, name="vit_tiny")


def _block(x, heads: int, mlp_ratio: int, name: str):
  import tensorflow as tf

  from tff_course.models.vit_layers import SelfAttention

  layers = tf.keras.layers
  width = x.shape[-1]
  y = layers.LayerNormalization(epsilon=LAYER_NORM_EPSILON, name=f"{name}.norm1")(x)
  y = _dense(3 * width, f"{name}.attn.qkv")(y)
  y = SelfAttention(heads, name=f"{name}.attn")(y)
  x = layers.Add()([x, _dense(width, f"{name}.attn.proj")(y)])
  y = layers.LayerNormalization(epsilon=LAYER_NORM_EPSILON, name=f"{name}.norm2")(x)
  y = _dense(mlp_ratio * width, f"{name}.mlp.fc1", activation="gelu")(y)
  return layers.Add()([x, _dense(width, f"{name}.mlp.fc2")(y)])


def _dense(units: int, name: str, activation=None):
  import tensorflow as tf

  from tff_course.models.vit_layers import truncated_normal

  return tf.keras.layers.Dense(units, activation=activation, name=name,
                               kernel_initializer=truncated_normal())
