"""Hooks on KerasCV's `CrossAttention` layers that let a controller see and change the
attention weights of a UNet (Hertz et al. 2022, "Prompt-to-Prompt Image Editing with
Cross Attention Control").

A hook replaces one layer instance's `call` by the same computation as KerasCV's (the
same ops in the same order, with KerasCV's own `td_dot`), except that the softmax weights
(batch, heads, queries, keys) go through `controller.attention(weights, layer=NAME,
cross=BOOL, step=controller.step)` before they multiply the values. `hooked` installs the
hooks for the length of a `with` block and removes them on the way out, whatever
happens inside.

Every hooked layer has a name that says where it is: `{down|mid|up}_{h}x{w}_{i}/{self|
cross}`, from the place of its SpatialTransformer in the UNet and the spatial size of
that transformer's input (its queries are h * w); `map_size` reads the size back.

Example:
  store = Store()
  with hooked(model, store):
    images = generate(model, ["a photo of a cat"], controller=store)
  store.average_maps()  # {queries: (prompts, queries, 77)}
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
from typing import Iterator, List, Optional, Tuple

from tasks.diffusion.parts import TextToImage
from tff_course.errors import ConfigError

_KINDS = {"attn1": "self", "attn2": "cross"}
_NAME = re.compile(r"_(\d+)x(\d+)_\d+/")


@dataclasses.dataclass(frozen=True)
class AttentionSite:
  """One CrossAttention layer of a model and the name its hook reports.

  Attributes:
    name: where it is, e.g. "down_8x8_0/cross".
    layer: the KerasCV `CrossAttention` instance.
    size: (height, width) of the feature map its queries come from, when known.
  """

  name: str
  layer: object
  size: Optional[Tuple[int, int]]


def map_size(name: str) -> Optional[Tuple[int, int]]:
  """(height, width) of a hooked layer's queries, read from its name; None if the name
  has no size."""
  match = _NAME.search(name)
  return (int(match.group(1)), int(match.group(2))) if match else None


def attention_sites(model) -> List[AttentionSite]:
  """Every KerasCV CrossAttention layer of `model` (a TextToImage, whose UNet is used,
  or any Keras model or layer), in the order the model calls them, found through its
  layers and, recursively, the layers its layers hold as attributes."""
  network = _network(model)
  containers = []
  for top in [child for _, child in _named_children(network)] or [network]:
    found = list(_attention_layers(top, ""))
    if found:
      containers.append((top, _spatial_size(top), found))
  phases = _phases([size for _, size, _ in containers])
  counts = {}
  sites = []
  for (_, size, found), phase in zip(containers, phases):
    index = counts.get((phase, size), 0)
    counts[(phase, size)] = index + 1
    place = f"{phase}_{size[0]}x{size[1]}_{index}" if size else f"attention_{index}"
    for path, layer in found:
      name = f"{place}/{path}"
      taken = sum(site.name.split("#")[0] == name for site in sites)
      sites.append(AttentionSite(f"{name}#{taken}" if taken else name, layer, size))
  return sites


@contextlib.contextmanager
def hooked(model, controller) -> Iterator[List[AttentionSite]]:
  """Routes the attention weights of every CrossAttention layer of `model` through
  `controller.attention` inside the block; yields the hooked sites.

  The controller needs an `attention(weights, *, layer, cross, step)` method returning
  weights of the same shape, and a `step` attribute (the sampler sets it before every
  UNet call; see `attention_control.AttentionController`).

  Inside the block `controller.hooked_to` is the hooked network (the sampler checks it).
  On the way out, also after an exception, the layers get their own `call` back, and
  traced functions made inside the block are dropped: Keras's cached `predict_function`
  and friends, and the traced predictions a TextToImage caches. The model computes
  exactly what it computed before.

  Raises:
    ConfigError: the model has no CrossAttention layer, or is hooked already.
  """
  sites = attention_sites(model)
  if not sites:
    raise ConfigError(f"model: {_describe(model)} has no KerasCV CrossAttention layer, "
                      f"expected a UNet with SpatialTransformer blocks")
  for site in sites:
    if "call" in vars(site.layer):
      raise ConfigError(f"model: {site.name} is hooked already, expected one `hooked` "
                        f"block at a time")
  network = _network(model)
  functions = {key: getattr(network, key, None)
               for key in ("predict_function", "train_function", "test_function")}
  cache = model._cache if isinstance(model, TextToImage) else None
  installed = []
  try:
    if isinstance(cache, dict):
      model._cache = {}
    for site in sites:
      site.layer.call = _hooked_call(site.layer, site.name, controller)
      installed.append(site.layer)
    controller.hooked_to = network
    yield sites
  finally:
    if installed:
      controller.hooked_to = None
    for layer in installed:
      del layer.call
    for key, value in functions.items():
      if hasattr(network, key):
        setattr(network, key, value)
    if isinstance(cache, dict):
      model._cache = cache


def _hooked_call(layer, name: str, controller):
  """`CrossAttention.call` of KerasCV 0.6.4, op for op, with the controller between the
  softmax and the product with the values."""
  from keras_cv.src.backend import keras, ops
  from keras_cv.src.models.stable_diffusion.diffusion_model import td_dot

  def call(inputs, context=None):
    cross = context is not None
    if context is None:
      context = inputs
    q, k, v = layer.to_q(inputs), layer.to_k(context), layer.to_v(context)
    q = ops.reshape(q, (-1, inputs.shape[1], layer.num_heads, layer.head_size))
    k = ops.reshape(k, (-1, context.shape[1], layer.num_heads, layer.head_size))
    v = ops.reshape(v, (-1, context.shape[1], layer.num_heads, layer.head_size))
    q = ops.transpose(q, (0, 2, 1, 3))
    k = ops.transpose(k, (0, 2, 3, 1))
    v = ops.transpose(v, (0, 2, 1, 3))
    score = td_dot(q, k) * layer.scale
    weights = keras.activations.softmax(score)
    weights = controller.attention(weights, layer=name, cross=cross, step=controller.step)
    attn = td_dot(weights, v)
    attn = ops.transpose(attn, (0, 2, 1, 3))
    out = ops.reshape(attn, (-1, inputs.shape[1], layer.num_heads * layer.head_size))
    return layer.out_proj(out)

  return call


def _network(model):
  return getattr(model, "diffusion_model", model)


def _describe(model) -> str:
  return getattr(_network(model), "name", type(model).__name__)


def _named_children(layer) -> List[Tuple[str, object]]:
  """A layer's sublayers with the attribute names that hold them (a model's layers with
  their own names), in the order they were made."""
  from tensorflow import keras

  if isinstance(layer, keras.Model):
    return [(child.name, child) for child in layer.layers]
  children = []
  for key, value in vars(layer).items():
    if key.startswith("_"):
      continue
    if isinstance(value, (list, tuple)):
      children.extend((f"{key}_{i}", item) for i, item in enumerate(value)
                      if isinstance(item, keras.layers.Layer))
    elif isinstance(value, keras.layers.Layer):
      children.append((key, value))
  return children


def _attention_layers(layer, path: str) -> Iterator[Tuple[str, object]]:
  from keras_cv.src.models.stable_diffusion.diffusion_model import CrossAttention

  if isinstance(layer, CrossAttention):
    yield _KINDS.get(path, path or "attention"), layer
    return
  for key, child in _named_children(layer):
    yield from _attention_layers(child, key)


def _spatial_size(layer) -> Optional[Tuple[int, int]]:
  try:
    shape = layer.input_shape
  except (AttributeError, RuntimeError):
    return None
  if isinstance(shape, list):
    shape = shape[0]
  if shape is None or len(shape) != 4 or None in tuple(shape[1:3]):
    return None
  return int(shape[1]), int(shape[2])


def _phases(sizes: List[Optional[Tuple[int, int]]]) -> List[str]:
  """down before the UNet's coarsest attention, mid at it, up after it."""
  known = [size[0] * size[1] for size in sizes if size is not None]
  if not known:
    return ["" for _ in sizes]
  coarsest = min(known)
  at = [i for i, size in enumerate(sizes) if size and size[0] * size[1] == coarsest]
  return ["down" if i < at[0] else "up" if i > at[-1] else "mid"
          for i in range(len(sizes))]
