"""Prompt-to-prompt image editing (Hertz et al. 2022, "Prompt-to-Prompt Image Editing with
Cross Attention Control"): the source and the edited prompt are sampled in one batch from
the same noise, and the edited prompt's attention is tied to the source's (word swap,
refinement, re-weighting, self-attention injection, local blending) for the first
steps.

Example:
  result = edit(model, "a photo of a cat", "a photo of a dog", kind="swap", seed=0,
                steps=50)
  result.source, result.edited  # uint8 images
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
from typing import Callable, Dict, Iterator, List, Mapping, Optional, Sequence

import numpy as np

from tasks.diffusion.attention_control import (AttentionEdit, Refine, Replace, Reweight,
                                               token_scale)
from tasks.diffusion.attention_hooks import hooked
from tasks.diffusion.local_blend import LocalBlend
from tasks.diffusion.parts import TextToImage
from tasks.diffusion.sampler import check_sampling, generate
from tff_course.errors import ConfigError

KINDS = ("swap", "refine", "reweight")


@dataclasses.dataclass
class EditResult:
  """What `edit` returns.

  Attributes:
    source: the source prompt's image, uint8 (H, W, C).
    edited: the edited prompt's image, uint8 (H, W, C).
    maps: cross-attention maps per number of queries, (2, queries, 77): the source's
      and the edited prompt's as the layers computed them (before the edit), averaged
      over heads, layers and steps.
    tokens: the two prompts' padded token ids, (2, 77).
  """

  source: np.ndarray
  edited: np.ndarray
  maps: Dict[int, np.ndarray]
  tokens: np.ndarray


def align_tokens(source: Sequence[int], edited: Sequence[int]) -> List[int]:
  """For each edited token, the position of the source token it is aligned with, or -1
  for a token the source does not have.

  The alignment is a longest common subsequence; among equally long ones, edited tokens
  are left out before source tokens, so inserted words come out new and the end and
  padding tokens pair up in order.
  """
  source, edited = list(source), list(edited)
  rows, columns = len(source), len(edited)
  longest = np.zeros((rows + 1, columns + 1), np.int64)
  for i in range(rows - 1, -1, -1):
    for j in range(columns - 1, -1, -1):
      longest[i, j] = (longest[i + 1, j + 1] + 1 if source[i] == edited[j]
                       else max(longest[i + 1, j], longest[i, j + 1]))
  mapping = [-1] * columns
  i = j = 0
  while i < rows and j < columns:
    if source[i] == edited[j] and longest[i, j] == longest[i + 1, j + 1] + 1:
      mapping[j] = i
      i, j = i + 1, j + 1
    elif longest[i, j + 1] >= longest[i + 1, j]:
      j += 1
    else:
      i += 1
  return mapping


def word_positions(tokenizer, ids: Sequence[int], word: str) -> List[int]:
  """Positions in a prompt's token ids of every occurrence of `word`'s tokens."""
  pieces = tokenizer.encode(word)[1:-1]
  ids = list(ids)
  positions = []
  for start in range(len(ids) - len(pieces) + 1):
    if pieces and ids[start:start + len(pieces)] == pieces:
      positions.extend(range(start, start + len(pieces)))
  return positions


def edit_controller(model: TextToImage, source_prompt: str, edited_prompt: str, *,
                    kind: str = "swap", tau_cross: float = 0.8, tau_self: float = 0.4,
                    weights: Optional[Mapping[str, float]] = None,
                    blend_words: Optional[Sequence[str]] = None,
                    blend_threshold: float = 0.3) -> AttentionEdit:
  """The controller for one edit of `source_prompt` into `edited_prompt` (see `edit`).

  Raises:
    ConfigError: one line for an unknown kind, a tau outside [0, 1], a swap between
      prompts of different token lengths, re-weighting without weights, or a word that
      is not in the prompts.
  """
  if kind not in KINDS:
    raise ConfigError(f"kind: got {kind!r}, expected one of {', '.join(KINDS)}")
  check_taus(tau_cross, tau_self)
  tokenizer = model.tokenizer
  source, edited = model.tokens([source_prompt, edited_prompt])
  common = dict(tau_cross=tau_cross, tau_self=tau_self,
                blend=_blend(tokenizer, source, edited, blend_words, blend_threshold))
  if kind == "swap":
    lengths = [len(tokenizer.encode(prompt)) for prompt in (source_prompt, edited_prompt)]
    if lengths[0] != lengths[1]:
      raise ConfigError(f"edited_prompt: {lengths[1]} tokens against the source's "
                        f"{lengths[0]}, expected the same number for kind='swap' (maps "
                        f"are swapped token for token); use kind='refine'")
    base = Replace(**common)
  elif kind == "refine":
    base = Refine([align_tokens(source, edited)], **common)
  else:
    if not weights:
      raise ConfigError(f"weights: got {weights!r}, expected {{word: factor}} for "
                        f"kind='reweight', e.g. {{'dog': 2.0}}")
    base = None
  if not weights:
    return base
  positions, factors = [], []
  for word, factor in weights.items():
    where = word_positions(tokenizer, edited, word)
    if not where:
      raise ConfigError(f"weights: {word!r} is not in the edited prompt "
                        f"{edited_prompt!r}, expected one of its words")
    if not math.isfinite(float(factor)):
      raise ConfigError(f"weights: got {factor} for {word!r}, expected a finite factor")
    positions.append(where)
    factors.append(float(factor))
  return Reweight(token_scale(positions, factors, keys=len(edited)), previous=base,
                  **common)


def edit(model: TextToImage, source_prompt: str, edited_prompt: str, *, kind: str = "swap",
         tau_cross: float = 0.8, tau_self: float = 0.4,
         weights: Optional[Mapping[str, float]] = None,
         blend_words: Optional[Sequence[str]] = None, seed: int = 0, steps: int = 50,
         guidance: float = 7.5, progress: bool = True) -> EditResult:
  """The source image and its edit, sampled together from image 0's noise of `seed`.

  Args:
    model: a TextToImage (Stable Diffusion or the small model).
    source_prompt: the prompt of the source image.
    edited_prompt: the prompt of the edit (for "swap", as many tokens as the source).
    kind: "swap" (word swap), "refine" (added or removed words) or "reweight" (only
      `weights`).
    tau_cross: fraction of the steps during which cross-attention is edited.
    tau_self: fraction of the steps during which the edited image takes the source's
      self-attention.
    weights: {word of the edited prompt: factor} scaling its cross-attention (with any
      kind; required for "reweight").
    blend_words: words (of either prompt) whose region may change; outside it, the
      edited latents are the source's (local blending). None: no blending.
    seed: the noise seed.
    steps: sampling steps.
    guidance: classifier-free guidance scale.
    progress: whether to show a progress bar.

  Raises:
    ConfigError: one line for any argument out of range (see `edit_controller`).
  """
  check_sampling(steps, guidance)
  with edits(model, source_prompt, edited_prompt, kind=kind, weights=weights,
             blend_words=blend_words) as edit_at:
    return edit_at(tau_cross, tau_self, seed=seed, steps=steps, guidance=guidance,
                   progress=progress)


@contextlib.contextmanager
def edits(model: TextToImage, source_prompt: str, edited_prompt: str, *, kind: str = "swap",
          weights: Optional[Mapping[str, float]] = None,
          blend_words: Optional[Sequence[str]] = None) -> Iterator[Callable[..., EditResult]]:
  """Yields edit_at(tau_cross, tau_self, *, seed=0, steps=50, guidance=7.5,
  progress=True), which returns `edit`'s result for this edit at those settings; inside
  the block the edit's controller stays hooked, so its UNet call is traced once for all of
  them (one `edit` each would trace it again).

  Raises:
    ConfigError: one line for any argument out of range (see `edit_controller`);
      edit_at likewise for its taus, steps and guidance.
  """
  controller = edit_controller(model, source_prompt, edited_prompt, kind=kind,
                               weights=weights, blend_words=blend_words)
  prompts = [source_prompt, edited_prompt]

  def edit_at(tau_cross: float, tau_self: float, *, seed: int = 0, steps: int = 50,
              guidance: float = 7.5, progress: bool = True) -> EditResult:
    check_taus(tau_cross, tau_self)
    controller.tau_cross, controller.tau_self = float(tau_cross), float(tau_self)
    images = generate(model, prompts, seed=seed, steps=steps, guidance=guidance,
                      controller=controller, progress=progress,
                      description=f"prompt-to-prompt ({kind})")
    return EditResult(images[0], images[1], controller.average_maps(),
                      model.tokens(prompts))

  with hooked(model, controller):
    yield edit_at


def check_taus(tau_cross: float, tau_self: float) -> None:
  """Raises ConfigError, one line, for a tau outside [0, 1]."""
  for name, tau in (("tau_cross", tau_cross), ("tau_self", tau_self)):
    if not 0.0 <= tau <= 1.0:
      raise ConfigError(f"{name}: got {tau}, expected a fraction of the steps in [0, 1]")


def _blend(tokenizer, source, edited, words: Optional[Sequence[str]],
           threshold: float) -> Optional[LocalBlend]:
  if not words:
    return None
  positions = [[], []]
  for word in words:
    found = [word_positions(tokenizer, ids, word) for ids in (source, edited)]
    if not any(found):
      raise ConfigError(f"blend_words: {word!r} is in neither prompt, expected a word "
                        f"of the source or the edited prompt")
    for row, where in enumerate(found):
      positions[row].extend(where)
  return LocalBlend(positions, threshold=threshold)
