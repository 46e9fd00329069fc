"""Stable Diffusion's published files and the CLIP tokenizer: local files checked against
KerasCV's hashes, KerasCV's own download otherwise, one-line errors."""

import hashlib
import os
import re
from unittest import mock

import keras_cv
import tensorflow as tf

from tasks.diffusion.published import VOCABULARY, WEIGHTS
from tasks.diffusion.tokenizer import CONTEXT_LENGTH, clip_tokenizer, encode_prompt
from tests.shared_data import requires_data, shared_data_dir
from tff_course.errors import ConfigError, DataError
from tff_course.published_files import (PublishedFile, checked_file, checked_local_file,
                                        published_file)

KERAS_CV_SD = os.path.join(os.path.dirname(keras_cv.__file__), "src", "models",
                           "stable_diffusion")


def vocabulary_dir():
  return os.path.join(shared_data_dir(), "clip")


class PublishedFilesTest(tf.test.TestCase):

  def test_names_addresses_and_hashes_are_those_kerascv_downloads(self):
    source = ""
    for name in os.listdir(KERAS_CV_SD):
      if name.endswith(".py"):
        with open(os.path.join(KERAS_CV_SD, name), encoding="utf-8") as stream:
          source += stream.read()
    pinned = dict(re.findall(r'origin="([^"]+)",[^)]*?file_hash="([0-9a-f]{64})"', source,
                             re.S))
    for published in WEIGHTS.values():
      self.assertEqual(pinned.get(published.origin), published.sha256, published.name)
      self.assertTrue(published.origin.endswith("/" + published.name))
    self.assertIn(VOCABULARY.origin, source)
    self.assertIn(VOCABULARY.sha256, source)

  def test_a_local_file_is_checked_against_its_hash(self):
    directory = self.create_tempdir().full_path
    content = b"weights"
    good = PublishedFile("good.h5", "https://example.invalid/good.h5",
                         hashlib.sha256(content).hexdigest())
    with open(os.path.join(directory, "good.h5"), "wb") as stream:
      stream.write(content)
    self.assertEqual(checked_local_file(good, directory),
                     os.path.join(directory, "good.h5"))
    decoder = WEIGHTS["decoder"]
    with self.assertRaisesRegex(DataError, r"kcv_decoder.h5: missing; expected KerasCV's "
                                           r"kcv_decoder.h5 \(sha256 " + decoder.sha256):
      checked_local_file(decoder, directory)
    with open(os.path.join(directory, "kcv_decoder.h5"), "wb") as stream:
      stream.write(content[:3])
    with self.assertRaisesRegex(DataError, "sha256 " + hashlib.sha256(b"wei").hexdigest() +
                                f", expected {decoder.sha256} \\(a partial download"):
      checked_file(os.path.join(directory, "kcv_decoder.h5"), decoder)

  def test_without_a_directory_kerascv_downloads_with_the_same_hash(self):
    published = WEIGHTS["text_encoder"]
    with mock.patch("tensorflow.keras.utils.get_file", return_value="/cache/x") as get_file:
      self.assertEqual(published_file(published), "/cache/x")
    get_file.assert_called_once_with(published.name, published.origin,
                                     file_hash=published.sha256)
    with mock.patch("tensorflow.keras.utils.get_file",
                    side_effect=Exception("URL fetch failure: no network")):
      with self.assertRaisesRegex(DataError, "kcv_encoder.h5: could not download it .*"
                                             "pass it \\(--weights-dir DIR\\)$"):
        published_file(published)


@requires_data("clip", "bpe_simple_vocab_16e6.txt.gz")
class TokenizerTest(tf.test.TestCase):

  def test_offline_without_the_file_the_error_names_the_options_that_give_it(self):
    with mock.patch("tensorflow.keras.utils.get_file", side_effect=Exception("no network")):
      with self.assertRaisesRegex(DataError, r"^bpe_simple_vocab_16e6.txt.gz: could not "
                                             r"download .*\(--vocabulary PATH, or --data-dir "
                                             r"DIR holding clip/\)$"):
        clip_tokenizer(None)

  def test_round_trip_with_the_real_vocabulary(self):
    tokenizer = clip_tokenizer(vocabulary_dir())
    ids = tokenizer.encode("a photo of sks dog")
    self.assertEqual((ids[0], ids[-1]), (49406, 49407))
    self.assertEqual(tokenizer.decode(ids),
                     "<|startoftext|>a photo of sks dog <|endoftext|>")
    padded = encode_prompt(tokenizer, "a photo of sks dog")
    self.assertLen(padded, CONTEXT_LENGTH)
    self.assertEqual(padded[:len(ids)], ids)
    self.assertEqual(set(padded[len(ids):]), {49407})

  def test_the_vocabulary_file_itself_and_a_wrong_one(self):
    path = os.path.join(vocabulary_dir(), VOCABULARY.name)
    self.assertEqual(clip_tokenizer(path).encode("dog"),
                     clip_tokenizer(vocabulary_dir()).encode("dog"))
    wrong = os.path.join(self.create_tempdir().full_path, "vocab.txt.gz")
    with open(wrong, "wb") as stream:
      stream.write(b"not a vocabulary")
    with self.assertRaisesRegex(DataError, "vocab.txt.gz: sha256 .*, expected " +
                                VOCABULARY.sha256):
      clip_tokenizer(wrong)

  def test_a_prompt_longer_than_the_context_is_one_line(self):
    tokenizer = clip_tokenizer(vocabulary_dir())
    with self.assertRaisesRegex(ConfigError, r"^prompt: \d+ tokens with start and end, "
                                             r"expected at most 77 \(CLIP's context\)"):
      encode_prompt(tokenizer, "dog " * 80)
