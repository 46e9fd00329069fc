"""The CLIP tokenizer KerasCV's Stable Diffusion uses, its vocabulary from a local file
(hash-checked) or KerasCV's own download."""

from __future__ import annotations

import os
from typing import List, Optional

from tasks.diffusion.published import VOCABULARY
from tff_course.errors import ConfigError
from tff_course.published_files import checked_file, published_file

CONTEXT_LENGTH = 77


def vocabulary_path(vocabulary: Optional[str] = None) -> str:
  """The vocabulary file: `vocabulary` (the file, or a directory holding it under its
  published name) checked against the published sha256, else KerasCV's download."""
  if vocabulary is None:
    return published_file(VOCABULARY, flag="--vocabulary PATH, or --data-dir DIR holding "
                                            "clip/")
  path = (os.path.join(vocabulary, VOCABULARY.name) if os.path.isdir(vocabulary)
          else vocabulary)
  return checked_file(path, VOCABULARY)


def clip_tokenizer(vocabulary: Optional[str] = None):
  """KerasCV's SimpleTokenizer on the checked vocabulary."""
  from keras_cv.src.models.stable_diffusion.clip_tokenizer import SimpleTokenizer

  return SimpleTokenizer(bpe_path=vocabulary_path(vocabulary))


def encode_prompt(tokenizer, prompt: str) -> List[int]:
  """The prompt's token ids, padded to the context length as KerasCV pads them (with the
  end-of-text token).

  Raises:
    ConfigError: one line when the prompt needs more tokens than the context holds.
  """
  ids = tokenizer.encode(prompt)
  if len(ids) > CONTEXT_LENGTH:
    raise ConfigError(f"prompt: {len(ids)} tokens with start and end, expected at most "
                      f"{CONTEXT_LENGTH} (CLIP's context): shorten {prompt[:40]!r}...")
  return ids + [tokenizer.end_of_text] * (CONTEXT_LENGTH - len(ids))
