"""The small text-to-image model on this CPU (issue 15): `pretrain` with its defaults (wall
time, per stage), the judge's class accuracy of its samples (target: at least 80 %),
sampling time per image, and one DreamBooth fine-tuning run (the course's settings: 5
instance views, 100 class images, 300 steps with prior preservation, the text encoder
trained too).

Pretraining takes about 25 minutes; --pretrained RUN measures the rest on an existing
`tff-course diffusion pretrain` run instead (its time is then not measured again).
Prints markdown; with --append, adds it with date and machine to benchmarks/RESULTS.md.

  python benchmarks/bench_small_diffusion.py --data-dir ../shared/data [--append]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# pylint: disable=wrong-import-position
from results_file import append_section

SAMPLING_STEPS = 50
GUIDANCE = 3.0


def timed(call):
  start = time.perf_counter()
  result = call()
  return time.perf_counter() - start, result


def pretrain_section(run_dir: str, data_dir: str, vocabulary: str):
  """Pretrains into RUN_DIR with the defaults; rows of (stage, seconds)."""
  from tasks.diffusion.pretrain import PretrainConfig, pretrain

  config = PretrainConfig()
  seconds, metrics = timed(lambda: pretrain(run_dir, config, data_dir=data_dir,
                                            vocabulary=vocabulary, progress=False))
  return seconds, config, metrics


def pretrained_line(run_dir: str) -> str:
  """What an existing pretrain run measured about itself (its metrics.json)."""
  import json

  with open(os.path.join(run_dir, "metrics.json")) as stream:
    metrics = json.load(stream)
  with open(os.path.join(run_dir, "config.json")) as stream:
    config = json.load(stream)["pretrain"]
  whole = metrics["autoencoder"].get("resumed_at", 0) == 0 and metrics["unet"]["resumed_at"] == 0
  seconds = metrics["seconds_this_invocation"]
  timing = (f"**{seconds / 60:.1f} min** in one invocation (its own clock, data loading "
            f"included; process start-up not)" if whole else
            "resumed, so its time is not one run's")
  return (f"- `pretrain` run {run_dir} ({config['dataset']}, autoencoder "
          f"{config['autoencoder_steps']} steps, UNet {config['steps']} steps, batch "
          f"{config['batch_size']}): {timing}; final UNet loss "
          f"{metrics['unet']['final_loss']:.4f}, autoencoder MSE "
          f"{metrics['autoencoder']['final_mse']:.4f}.")


def sampling_seconds(model, batch: int, repeats: int = 2):
  """Seconds per image of `batch` images at 50 steps: the first call (tracing included)
  and the median of `repeats` after it."""
  from tasks.diffusion.sampler import generate

  prompts = ["a photo of a sneaker"] * batch
  run = lambda seed: generate(model, prompts, seed=seed, steps=SAMPLING_STEPS,  # noqa: E731
                              guidance=GUIDANCE, progress=False)
  first, _ = timed(lambda: run(0))
  after = [timed(lambda: run(seed))[0] for seed in range(1, repeats + 1)]
  return first / batch, statistics.median(after) / batch


def dreambooth_seconds(model_dir: str, judge, dataset, work: str, vocabulary: str):
  """Seconds to generate the class images and to fine-tune, with the course's settings."""
  import numpy as np

  from tasks.diffusion.course import CourseConfig, subject_views
  from tasks.diffusion.captions import diffusion_split
  from tasks.diffusion.dreambooth import ensure_class_images, fine_tune
  from tasks.diffusion.instance_images import save_instance_images
  from tasks.diffusion.small_model import load_small_model

  course = CourseConfig()
  images, labels = diffusion_split(dataset, "test")
  subject = images[np.flatnonzero(labels == judge.label_index(course.subject_class))[0]]
  instance_dir = os.path.join(work, "instance")
  save_instance_images(subject_views(subject, course.instance_images), instance_dir)
  model = load_small_model(model_dir, vocabulary=vocabulary)[0]
  config = course.dreambooth(f"a photo of sks {course.subject_class}",
                             f"a photo of a {course.subject_class}")
  run_dir = os.path.join(work, "dreambooth")
  class_seconds, _ = timed(lambda: ensure_class_images(
      model, config, os.path.join(run_dir, "class_images"), progress=False))
  tune_seconds, _ = timed(lambda: fine_tune(model, instance_dir, config, run_dir,
                                            progress=False))
  return config, class_seconds, tune_seconds


def main() -> int:
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
  parser.add_argument("--data-dir", help="directory with fashion_mnist/ and clip/ "
                      "(default: $TFF_COURSE_DATA_DIR)")
  parser.add_argument("--work", default="runs/bench-small-diffusion",
                      help="where the runs are written (default: %(default)s)")
  parser.add_argument("--pretrained", metavar="RUN",
                      help="an existing pretrain run: skip pretraining, measure the rest")
  parser.add_argument("--append", action="store_true", help="append to benchmarks/RESULTS.md")
  args = parser.parse_args()

  import numpy as np

  from tasks.diffusion.captions import class_words, load_diffusion_dataset
  from tasks.diffusion.course import CourseConfig, class_prompt_accuracy, judge_for
  from tasks.diffusion.pretrain import MODEL_DIR
  from tasks.diffusion.small_model import load_small_model

  data_dir = args.data_dir or os.environ.get("TFF_COURSE_DATA_DIR")
  vocabulary = os.path.join(data_dir, "clip") if data_dir else None
  load_before = os.getloadavg()[0]
  lines = []
  run_dir = args.pretrained or os.path.join(args.work, "pretrain")
  if not args.pretrained:
    seconds, config, metrics = pretrain_section(run_dir, data_dir, vocabulary)
    verdict = "met" if seconds < 30 * 60 else "MISSED"
    lines.append(f"- `pretrain` (Fashion-MNIST, autoencoder {config.autoencoder_steps} "
                 f"steps, UNet {config.steps} steps, batch {config.batch_size}): "
                 f"**{seconds / 60:.1f} min** wall (target < 30 min: {verdict}); final UNet "
                 f"loss {metrics['unet']['final_loss']:.4f}, autoencoder MSE "
                 f"{metrics['autoencoder']['final_mse']:.4f}.")
  else:
    lines.append(pretrained_line(run_dir))
  model_dir = os.path.join(run_dir, MODEL_DIR)
  model = load_small_model(model_dir, vocabulary=vocabulary)[0]
  dataset = load_diffusion_dataset("fashion_mnist", data_dir)
  course = CourseConfig(steps=SAMPLING_STEPS, guidance=GUIDANCE)
  judge_seconds, judge = timed(lambda: judge_for(args.work, "fashion_mnist", data_dir, course))
  accuracy = class_prompt_accuracy(model, judge, class_words(dataset), course, args.work)
  rate = float(np.mean(list(accuracy.values())))
  lines.append(f"- Judge (CNN, {judge.test_accuracy:.1%} test accuracy; "
               f"{judge_seconds:.0f} s to train or load): of {10 * course.samples_per_class} "
               f"samples of 'a photo of a {{class}}', **{rate:.1%}** are judged as their "
               f"class (target >= 80 %: {'met' if rate >= 0.8 else 'MISSED'}); lowest "
               f"{min(accuracy, key=accuracy.get)} {min(accuracy.values()):.0%}.")
  for batch in (1, 20):
    first, median = sampling_seconds(model, batch)
    lines.append(f"- Sampling, {SAMPLING_STEPS} DDIM steps with guidance, batch {batch}: "
                 f"{median:.2f} s per image (first call, tracing included: {first:.2f} s "
                 f"per image).")
  config, class_seconds, tune_seconds = dreambooth_seconds(model_dir, judge, dataset,
                                                           args.work, vocabulary)
  trained = "UNet and text encoder" if config.train_text_encoder else "UNet only"
  lines.append(f"- DreamBooth: {config.class_images} class images generated in "
               f"{class_seconds:.0f} s; {config.steps} fine-tuning steps (batch "
               f"{config.batch_size} instance + {config.batch_size} class, {trained}) in "
               f"{tune_seconds:.0f} s, tracing included.")
  lines.append(f"- Load average (1 min) {load_before:.1f} before, {os.getloadavg()[0]:.1f} "
               f"after.")
  body = "\n".join(lines)
  print(body)
  if args.append:
    append_section("Small text-to-image model: pretraining, sample accuracy, sampling, "
                   "DreamBooth (issue 15)",
                   "python benchmarks/bench_small_diffusion.py --data-dir ../shared/data "
                   + (f"--pretrained {args.pretrained} " if args.pretrained else "")
                   + "--append", body)
  return 0


if __name__ == "__main__":
  sys.exit(main())
