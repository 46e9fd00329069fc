"""Distributed-training benchmarks (issue 17), on CIFAR-10 and the course's CNN. Each writes
a section to RESULTS.md with --append.

  pipeline    a pipeline step with S = 3 stages and M in {1, 3, 6, 12} micro-batches of a
              batch of 96, GPipe against 1F1B: median step time, measured bubble against
              (S - 1) / (M + S - 1), activations each stage holds
  local-sgd   Local SGD with 2 worker processes, H in {1, 4, 16} at the same number of
              SGD steps (H = 1 is synchronous SGD with one all-reduce a step): bytes
              all-reduced, compute and communication seconds per sync and per step
  optimizers  one training step of SGD, LARS and LAMB (Keras, tf.function) on batches of
              256 and 1,024: median milliseconds and the ratio to SGD

  python benchmarks/bench_distributed.py pipeline --data-dir ../shared/data --append
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

# pylint: disable=wrong-import-position
from results_file import append_section

MICRO_BATCHES = (1, 3, 6, 12)
LOCAL_STEPS = (1, 4, 16)


def _cli(*argv: str) -> None:
  """Runs `tff-course ARGV` in a process of its own (a pipeline controller joins its
  process to the stages' cluster once)."""
  result = subprocess.run([sys.executable, "-m", "tff_course", *argv], capture_output=True,
                          text=True, check=False)
  if result.returncode != 0:
    raise SystemExit(f"tff-course {' '.join(argv)} failed:\n{result.stderr[-3000:]}")


def _source(args) -> list:
  return ["--data-dir", args.data_dir, "--limit", str(args.limit), "--no-progress"]


def pipeline(args) -> tuple:
  rows = ["| schedule | M | median step (ms) | bubble measured | bubble ideal | micro-batches "
          "held per stage | activation MB held per stage |", "|---|---|---|---|---|---|---|"]
  for schedule in ("gpipe", "1f1b"):
    for count in MICRO_BATCHES:
      out = tempfile.mkdtemp(prefix="bench-pipeline-")
      _cli("distributed", "pipeline", "--stages", "3", "--micro-batches", str(count),
           "--batch-size", "96", "--steps", str(args.steps), "--schedule", schedule,
           "--out", out, *_source(args))
      with open(os.path.join(out, "summary.json"), encoding="utf-8") as stream:
        summary = json.load(stream)
      rows.append(f"| {schedule} | {count} | {1000 * summary['median_step_seconds']:.0f} | "
                  f"{summary['median_bubble']:.1%} | {summary['ideal_bubble']:.1%} | "
                  f"{', '.join(map(str, summary['stash_micro_batches']))} | "
                  f"{', '.join(f'{b / 1e6:.2f}' for b in summary['stash_bytes'])} |")
      print(rows[-1], flush=True)
  body = (f"Course CNN on CIFAR-10 ({args.limit:,} training images), S = 3 stage processes "
          f"on loopback, batch 96, {args.steps} steps, median over all but the first; the "
          "bubble is the share of (stages x step span) in which a stage runs no pass.\n\n"
          + "\n".join(rows))
  return "Distributed: pipeline step, S = 3, GPipe against 1F1B", body


def local_sgd(args) -> tuple:
  rows = ["| H | syncs | MB all-reduced a sync | compute s a sync | communication s a sync | "
          "communication s a step | total s |", "|---|---|---|---|---|---|---|"]
  for steps in LOCAL_STEPS:
    out = tempfile.mkdtemp(prefix="bench-local-sgd-")
    syncs = args.sgd_steps // steps
    _cli("distributed", "local-sgd", "--workers", "2", "--local-steps", str(steps),
         "--syncs", str(syncs), "--batch-size", "32", "--out", out, *_source(args))
    with open(os.path.join(out, "syncs.json"), encoding="utf-8") as stream:
      records = json.load(stream)[1:]
    compute = statistics.median(r["compute_seconds"] for r in records)
    communication = statistics.median(r["communication_seconds"] for r in records)
    total = sum(r["compute_seconds"] + r["communication_seconds"] for r in records)
    rows.append(f"| {steps} | {syncs} | {records[-1]['bytes_reduced'] / 1e6:.2f} | "
                f"{compute:.3f} | {communication:.3f} | {communication / steps:.4f} | "
                f"{total:.1f} |")
    print(rows[-1], flush=True)
  body = (f"2 worker processes on loopback (MultiWorkerMirroredStrategy ring all-reduce), "
          f"course CNN, CIFAR-10 ({args.limit:,} images), B = 32 a worker, "
          f"{args.sgd_steps} SGD steps in every row; medians over the syncs after the first "
          "(total: those syncs). H = 1 is synchronous SGD with an all-reduce every step.\n\n"
          + "\n".join(rows))
  return "Distributed: Local SGD bytes and time a sync against an all-reduce a step", body


def optimizers(args) -> tuple:
  import numpy as np
  import tensorflow as tf

  from tff_course.distributed.lamb import LAMB
  from tff_course.distributed.lars import LARS
  from tff_course.models import build_model

  makers = {"SGD (momentum 0.9)": lambda: tf.keras.optimizers.SGD(0.1, momentum=0.9),
            "LARS": lambda: LARS(0.1), "LAMB": lambda: LAMB(0.001)}
  loss_fn = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)
  rows = ["| batch | optimizer | median ms a step | against SGD |", "|---|---|---|---|"]
  for batch in (256, 1024):
    rng = np.random.default_rng(0)
    x = tf.constant(rng.random((batch, 32, 32, 3), dtype=np.float32))
    y = tf.constant(rng.integers(0, 10, batch))
    medians = {}
    for name, make in makers.items():
      tf.keras.utils.set_random_seed(0)
      model = build_model("cifar_convnet", (32, 32, 3), 10)
      optimizer = make()

      @tf.function
      def step(model=model, optimizer=optimizer):
        with tf.GradientTape() as tape:
          loss = loss_fn(y, model(x, training=True))
        optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_variables),
                                      model.trainable_variables))
        return loss

      step().numpy()
      times = []
      for _ in range(args.repeats):
        start = time.perf_counter()
        step().numpy()
        times.append(time.perf_counter() - start)
      medians[name] = statistics.median(times)
      rows.append(f"| {batch} | {name} | {1000 * medians[name]:.1f} | "
                  f"{medians[name] / medians['SGD (momentum 0.9)']:.2f}x |")
      print(rows[-1], flush=True)
  body = (f"Course CNN, random CIFAR-sized batches, forward + backward + update in one "
          f"tf.function, median of {args.repeats} steps after a warm-up.\n\n" + "\n".join(rows))
  return "Distributed: LARS and LAMB step cost against SGD", body


def main() -> int:
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
  parser.add_argument("benchmark", choices=("pipeline", "local-sgd", "optimizers"))
  parser.add_argument("--data-dir", default=os.environ.get("TFF_COURSE_DATA_DIR"),
                      help="the data directory (cifar-10-batches-py/)")
  parser.add_argument("--limit", type=int, default=5000, help="training images used")
  parser.add_argument("--steps", type=int, default=8, help="pipeline steps a run")
  parser.add_argument("--sgd-steps", type=int, default=64,
                      help="SGD steps of each Local SGD run (a multiple of 16)")
  parser.add_argument("--repeats", type=int, default=20, help="timed optimizer steps")
  parser.add_argument("--append", action="store_true", help="append to benchmarks/RESULTS.md")
  args = parser.parse_args()
  if args.benchmark != "optimizers" and not args.data_dir:
    parser.error("--data-dir: not given and TFF_COURSE_DATA_DIR is not set; expected the "
                 "folder holding cifar-10-batches-py/ (e.g. ../shared/data)")
  title, body = {"pipeline": pipeline, "local-sgd": local_sgd,
                 "optimizers": optimizers}[args.benchmark](args)
  print(f"## {title}\n\n{body}")
  if args.append:
    append_section(title, " ".join(["python", "benchmarks/bench_distributed.py"] +
                                   sys.argv[1:]), body)
  return 0


if __name__ == "__main__":
  sys.exit(main())
