"""Stable Diffusion v1 on this CPU (issue 15): KerasCV 0.6's real architecture with random
weights (the published weights cost the same per step), at 512x512.

Times building the four networks, the text encoder on the pair of prompts guided sampling
encodes (the empty negative prompt and the prompt), one denoising step (the UNet on a
batch of 2: unconditional and conditional latents, as `tasks.diffusion.sampler.denoise`
runs it, in one traced function) and one decoder pass; each traced call's first run
(tracing included) separately from the median of the repeats after it. Estimates one
50-step image from them, and records the peak memory.

Prints markdown; with --append, adds it with date and machine to benchmarks/RESULTS.md.

  python benchmarks/bench_stable_diffusion.py --data-dir ../shared/data [--append]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# pylint: disable=wrong-import-position
from tasks.diffusion.stable_diffusion import load_stable_diffusion
from results_file import append_section

PROMPT = "a photo of sks dog"
SAMPLING_STEPS = 50


def timed(call, repeats: int):
  """Seconds of the first call, median seconds of `repeats` calls after it."""
  start = time.perf_counter()
  call()
  first = time.perf_counter() - start
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    call()
    times.append(time.perf_counter() - start)
  return first, statistics.median(times) if times else first


def main() -> int:
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
  parser.add_argument("--data-dir", help="directory with clip/ (the CLIP vocabulary; "
                      "default: $TFF_COURSE_DATA_DIR)")
  parser.add_argument("--image-size", type=int, default=512)
  parser.add_argument("--repeats", type=int, default=2)
  parser.add_argument("--append", action="store_true", help="append to benchmarks/RESULTS.md")
  args = parser.parse_args()
  import numpy as np
  import tensorflow as tf

  data_dir = args.data_dir or os.environ.get("TFF_COURSE_DATA_DIR")
  vocabulary = os.path.join(data_dir, "clip") if data_dir else None
  load_before = os.getloadavg()[0]
  tf.keras.utils.set_random_seed(0)
  start = time.perf_counter()
  model = load_stable_diffusion(weights=False, image_size=args.image_size,
                                vocabulary=vocabulary)
  build = time.perf_counter() - start

  tokens = model.tokens(["", PROMPT])
  encode = tf.function(lambda: model.encode_tokens(tokens))
  text_first, text = timed(lambda: encode().numpy(), args.repeats)
  context = encode()
  latents = tf.constant(np.random.default_rng(0).standard_normal(
      (2,) + tuple(model.latent_shape)), tf.float32)
  timesteps = tf.fill([2], 981)
  unet = tf.function(lambda: model.predict_noise(latents, timesteps, context))
  one_latent = latents[:1]
  decode = tf.function(lambda: model.decoder(one_latent))

  step_first, step = timed(lambda: unet().numpy(), args.repeats)
  decode_first, decoder = timed(lambda: decode().numpy(), args.repeats)
  image = text + SAMPLING_STEPS * step + decoder
  peak_gib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20
  size = f"{args.image_size}x{args.image_size}"
  rows = [f"| part | input | first call s (with tracing) | median s of {args.repeats} after |",
          "|---|---|---|---|",
          f"| build (4 networks, random init) | - | {build:.1f} | - |",
          f"| text encoder | 2 prompts x 77 tokens | {text_first:.2f} | {text:.2f} |",
          f"| UNet: one guided denoising step | 2 latents {model.latent_shape} | "
          f"{step_first:.1f} | {step:.1f} |",
          f"| decoder | 1 latent -> {size} image | {decode_first:.1f} | {decoder:.1f} |"]
  counts = ", ".join(f"{part} {network.count_params():,}"
                     for part, network in model.networks.items())
  body = "\n".join(rows) + (
      f"\n\nOne {size} image with {SAMPLING_STEPS} DDIM steps and guidance: about "
      f"{image / 60:.1f} min (text encoder + {SAMPLING_STEPS} x step + decoder). "
      f"Peak resident memory {peak_gib:.1f} GiB. Parameters: {counts}. Load average "
      f"(1 min) {load_before:.1f} before, {os.getloadavg()[0]:.1f} after (shared machine).")
  print(body)
  if args.append:
    append_section(f"Stable Diffusion v1 (KerasCV 0.6, random weights), {size}, one "
                   f"guided denoising step on this CPU (issue 15)",
                   "python benchmarks/bench_stable_diffusion.py --data-dir ../shared/data "
                   "--append", body)
  return 0


if __name__ == "__main__":
  sys.exit(main())
