"""Attention controllers for prompt-to-prompt editing (Hertz et al. 2022): small objects
behind one interface that `attention_hooks.hooked` and the sampler call.

The batch the UNet sees holds the unconditional rows first, then the conditional ones;
the prompts are [source, edited, ...], so the source's conditional row is the first of
the second half. Edits touch only the conditional rows of the edited prompts, and each is
active for the first `int(tau * num_steps)` sampling steps; the step is a tensor inside
the traced UNet call, so the gate is a `tf.where` on `step < k`. When no edit is active,
the weights pass through unchanged, bit for bit.

- `AttentionController`: the interface; changes nothing, records nothing.
- `Store`: the cross-attention maps of the conditional rows, averaged over heads and
  summed over steps, per layer; `average_maps()` gives them per resolution.
- `AttentionEdit`: self-attention injection (the edited rows take the source's
  self-attention maps) and an optional `LocalBlend`; cross-attention unchanged.
- `Replace` (word swap): the edited rows take the source's cross-attention maps.
- `Refine` (added words): tokens aligned with the source take its maps, new ones keep
  their own.
- `Reweight`: chosen tokens' cross-attention scaled by a factor, optionally on top of
  a Replace or Refine.
"""

from __future__ import annotations

from typing import Dict, Optional, Sequence

import numpy as np

from tasks.diffusion.local_blend import LocalBlend

SELF_MAX_QUERIES = 16 * 16


class AttentionController:
  """The interface the hooks and the sampler call; this one changes nothing.

  Attributes:
    step: the sampling step, set by the sampler (a scalar int32 tensor inside the traced
      UNet call) before every call.
    num_steps: the number of sampling steps, from `begin`.
  """

  def __init__(self):
    self.step = 0
    self.num_steps = 0

  def begin(self, num_steps: int) -> None:
    """Called once before sampling `num_steps` steps."""
    self.num_steps = int(num_steps)

  def attention(self, weights, *, layer: str, cross: bool, step):
    """The attention weights (batch, heads, queries, keys) a layer uses, given its own."""
    del layer, cross, step
    return weights

  def recorded(self) -> Dict[str, object]:
    """Tensors recorded while the UNet call was traced, by name."""
    return {}

  def collect(self, values: Dict[str, np.ndarray], step: int) -> None:
    """The recorded tensors' values after step `step`, as NumPy."""
    del values, step

  def end_step(self, latents, step: int):
    """The latents to continue from after step `step`."""
    del step
    return latents


class Store(AttentionController):
  """Records the cross-attention maps of the conditional rows, averaged over heads, as
  the layers computed them (before any edit), summed over steps per layer."""

  def __init__(self):
    super().__init__()
    self._pending = {}
    self.sums: Dict[str, np.ndarray] = {}
    self.steps_seen = 0

  def begin(self, num_steps: int) -> None:
    super().begin(num_steps)
    self._pending, self.sums, self.steps_seen = {}, {}, 0

  def attention(self, weights, *, layer: str, cross: bool, step):
    import tensorflow as tf

    if cross:
      half = tf.shape(weights)[0] // 2
      self._pending[layer] = tf.reduce_mean(weights[half:], axis=1)
    return weights

  def recorded(self) -> Dict[str, object]:
    return dict(self._pending)

  def collect(self, values: Dict[str, np.ndarray], step: int) -> None:
    for name, value in values.items():
      self.sums[name] = self.sums[name] + value if name in self.sums else value.copy()
    self.steps_seen += 1

  def average_maps(self) -> Dict[int, np.ndarray]:
    """Cross-attention maps per number of queries (h * w): (prompts, queries, keys),
    averaged over the layers at that resolution and over the steps; each query's
    weights sum to one over the keys."""
    return average_by_resolution(self.sums, max(self.steps_seen, 1))


def average_by_resolution(maps: Dict[str, np.ndarray], steps: int = 1) -> Dict[int, np.ndarray]:
  """Per-layer maps (prompts, queries, keys) averaged over the layers with the same
  number of queries, divided by `steps`."""
  groups: Dict[int, list] = {}
  for value in maps.values():
    groups.setdefault(value.shape[1], []).append(value)
  return {queries: np.mean(values, axis=0) / steps for queries, values in groups.items()}


class AttentionEdit(Store):
  """Self-attention injection: for steps < int(tau_self * num_steps), the edited rows'
  self-attention maps are the source's (at layers with at most `self_max_queries`
  queries, as the authors' code does for Stable Diffusion); cross-attention maps are
  `edit_cross`'s for steps < int(tau_cross * num_steps); `blend` (a LocalBlend)
  keeps the latents outside the edited words' region from the source. Those step
  counts are variables that `begin` sets, so a traced UNet call serves any tau_cross
  and tau_self the controller is given before sampling.

  Args:
    tau_cross: fraction of the steps with cross-attention edits, in [0, 1].
    tau_self: fraction of the steps with self-attention injection, in [0, 1].
    self_max_queries: largest feature map (h * w) whose self-attention is injected.
    blend: an optional LocalBlend.
  """

  def __init__(self, *, tau_cross: float = 0.8, tau_self: float = 0.4,
               self_max_queries: int = SELF_MAX_QUERIES,
               blend: Optional[LocalBlend] = None):
    import tensorflow as tf

    super().__init__()
    self.tau_cross, self.tau_self = float(tau_cross), float(tau_self)
    self.self_max_queries = int(self_max_queries)
    self.blend = blend
    self.cross_steps = tf.Variable(0, dtype=tf.int32, trainable=False)
    self.self_steps = tf.Variable(0, dtype=tf.int32, trainable=False)

  def begin(self, num_steps: int) -> None:
    super().begin(num_steps)
    self.cross_steps.assign(int(self.tau_cross * num_steps))
    self.self_steps.assign(int(self.tau_self * num_steps))

  def attention(self, weights, *, layer: str, cross: bool, step):
    weights = super().attention(weights, layer=layer, cross=cross, step=step)
    if cross:
      return edit_rows(weights, self.edit_cross, step, self.cross_steps)
    if weights.shape[2] <= self.self_max_queries:
      return edit_rows(weights, _source_maps, step, self.self_steps)
    return weights

  def edit_cross(self, source, edited):
    """The edited rows' cross-attention weights (edits, heads, queries, keys), given
    the source's (1, heads, queries, keys) and their own."""
    del source
    return edited

  def end_step(self, latents, step: int):
    if self.blend is None:
      return latents
    return self.blend(latents, self.sums, step, self.num_steps)


class Replace(AttentionEdit):
  """Word swap: the edited rows' cross-attention maps are the source's (prompts of the
  same token length)."""

  def edit_cross(self, source, edited):
    return _source_maps(source, edited)


class Refine(AttentionEdit):
  """Refinement (added words): for each edited prompt, token j takes the source's map of
  token `mapping[e][j]`, or keeps its own where that is -1 (a new word).

  Args:
    mapping: (edits, keys) ints, `prompt_to_prompt.align_tokens` per edited prompt.
  """

  def __init__(self, mapping, **kwargs):
    super().__init__(**kwargs)
    self.mapping = np.atleast_2d(np.asarray(mapping, np.int64))

  def edit_cross(self, source, edited):
    import tensorflow as tf

    gathered = tf.gather(source[0], np.maximum(self.mapping, 0), axis=-1)
    gathered = tf.transpose(gathered, (2, 0, 1, 3))
    aligned = tf.constant((self.mapping >= 0)[:, None, None, :])
    return tf.where(aligned, gathered, edited)


class Reweight(AttentionEdit):
  """Re-weighting: each edited row's cross-attention to token j is multiplied by
  `scale[e][j]` (1 for the tokens left alone), after `previous`'s edit if given.

  Without `previous`, the row's own maps are scaled (the authors' code scales the
  source's, which is the same map at the first step when both prompts are equal); so a
  factor of 1 leaves the image exactly as it was.

  Args:
    scale: (edits, keys) factors.
    previous: a Replace or Refine whose cross-attention edit comes first.
  """

  def __init__(self, scale, *, previous: Optional[AttentionEdit] = None, **kwargs):
    super().__init__(**kwargs)
    self.scale = np.atleast_2d(np.asarray(scale, np.float32))
    self.previous = previous

  def edit_cross(self, source, edited):
    if self.previous is not None:
      edited = self.previous.edit_cross(source, edited)
    return edited * self.scale[:, None, None, :]


def edit_rows(weights, edit, step, active_steps):
  """`weights` with the edited prompts' conditional rows replaced by `edit(source,
  edited)` while `step < active_steps` (an int or an int32 variable); every other row,
  and every row when inactive, unchanged."""
  import tensorflow as tf

  half = tf.shape(weights)[0] // 2
  unconditional, source, edited = weights[:half], weights[half:half + 1], weights[half + 1:]
  active = tf.less(tf.cast(step, tf.int32), active_steps)
  edited = tf.where(active, edit(source, edited), edited)
  return tf.concat([unconditional, source, edited], axis=0)


def _source_maps(source, edited):
  import tensorflow as tf

  return tf.broadcast_to(source, tf.shape(edited))


def token_scale(positions: Sequence[Sequence[int]], factors: Sequence[float], *,
                keys: int, edits: int = 1) -> np.ndarray:
  """(edits, keys) factors: `factors[i]` at the token positions `positions[i]`, 1 at the
  others."""
  scale = np.ones((edits, keys), np.float32)
  for where, factor in zip(positions, factors):
    scale[:, list(where)] = factor
  return scale
