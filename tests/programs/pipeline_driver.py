"""Trains a small MLP by pipeline parallelism on stage processes and on one process, and
prints one JSON line: the largest weight difference, the losses, the bubble of each step.

argv: SCHEDULE STAGES MICRO_BATCHES [delay] [kill] [pipelines=P]; "delay" sleeps a random
0-30 ms before dispatching each pass; "kill" kills stage 1 with SIGKILL after the first
step; P pipelines train together (data and model parallelism)."""

import json
import os
import random
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

# pylint: disable=wrong-import-position
import numpy as np
import tensorflow as tf

from tff_course.distributed.pipeline_run import (PipelineSettings, run_pipeline,
                                                 train_single_process)
from tff_course.distributed.pipeline_schedule import bubble_fraction


def build():
  return tf.keras.Sequential([
      tf.keras.Input((12,)), tf.keras.layers.Dense(16, activation="relu"),
      tf.keras.layers.Dense(16, activation="tanh"), tf.keras.layers.Dense(16, activation="relu"),
      tf.keras.layers.Dense(5)])


def kill_stage_1(step, _):
  if step == 0:
    subprocess.run(["pkill", "-KILL", "-P", str(os.getpid()), "-f", "--", "--index 1$"],
                   check=True)


def main(schedule, stages, count, options):
  rng = np.random.default_rng(0)
  x = rng.normal(size=(240, 12)).astype(np.float32)
  y = rng.integers(0, 5, 240).astype(np.int64)
  pipelines = [int(o.split("=")[1]) for o in options if o.startswith("pipelines=")]
  settings = PipelineSettings(stages=stages, micro_batch_count=count, batch_size=24, steps=4,
                              schedule=schedule, learning_rate=0.1, seed=3,
                              pipelines=pipelines[0] if pipelines else 1)
  chance = random.Random(7)
  delay = (lambda op: time.sleep(chance.uniform(0.0, 0.03))) if "delay" in options else None
  weights, results = run_pipeline(build, x, y, settings, delay=delay,
                                  on_step=kill_stage_1 if "kill" in options else None)
  reference = train_single_process(build, x, y, settings)
  difference = max(float(np.max(np.abs(a - b))) for a, b in zip(weights, reference))
  print(json.dumps({"difference": difference, "losses": [r.loss for r in results],
                    "bubbles": [bubble_fraction(r.times, stages) for r in results],
                    "passes": len(results[0].times)}), flush=True)


if __name__ == "__main__":
  main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4:])
