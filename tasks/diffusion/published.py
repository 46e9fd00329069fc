"""The files KerasCV 0.6 publishes for Stable Diffusion v1 and its CLIP tokenizer: the
names, addresses and sha256 hashes its own `keras.utils.get_file` calls use."""

from __future__ import annotations

from typing import Dict

from tff_course.published_files import PublishedFile

_HUB = "https://huggingface.co/fchollet/stable-diffusion/resolve/main/"


VOCABULARY = PublishedFile(
    "bpe_simple_vocab_16e6.txt.gz",
    "https://github.com/openai/CLIP/blob/main/clip/bpe_simple_vocab_16e6.txt.gz?raw=true",
    "924691ac288e54409236115652ad4aa250f48203de50a9e4722a6ecd48d6804a", "KerasCV")

WEIGHTS: Dict[str, PublishedFile] = {
    "text_encoder": PublishedFile(
        "kcv_encoder.h5", _HUB + "kcv_encoder.h5",
        "4789e63e07c0e54d6a34a29b45ce81ece27060c499a709d556c7755b42bb0dc4", "KerasCV"),
    "diffusion_model": PublishedFile(
        "kcv_diffusion_model.h5", _HUB + "kcv_diffusion_model.h5",
        "8799ff9763de13d7f30a683d653018e114ed24a6a819667da4f5ee10f9e805fe", "KerasCV"),
    "decoder": PublishedFile(
        "kcv_decoder.h5", _HUB + "kcv_decoder.h5",
        "ad350a65cc8bc4a80c8103367e039a3329b4231c2469a1093869a345f55b1962", "KerasCV"),
    "image_encoder": PublishedFile(
        "vae_encoder.h5", _HUB + "vae_encoder.h5",
        "c60fb220a40d090e0f86a6ab4c312d113e115c87c40ff75d11ffcf380aab7ebb", "KerasCV"),
}
