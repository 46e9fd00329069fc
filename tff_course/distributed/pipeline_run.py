"""Running pipeline-parallel training: P pipelines of S stage processes on free loopback
ports, this process as the controller, the model cut into stages, and the same SGD on one
process for comparison."""

from __future__ import annotations

import dataclasses
import sys
from typing import Callable, List, Optional, Sequence, Tuple

import numpy as np

from tff_course.distributed.addresses import loopback_addresses
from tff_course.distributed.pipeline import RemoteStage, StepResult, micro_batches, pipeline_step
from tff_course.distributed.pipeline_schedule import peak_stash, stage_orders
from tff_course.distributed.pipeline_split import split_layers
from tff_course.distributed.process_group import ProcessGroup, wait_ready, watched
from tff_course.distributed.reference_sgd import sgd_on_batches
from tff_course.distributed.stage_server import JOB, READY
from tff_course.distributed.worker_batches import worker_batch
from tff_course.ranges import check_integer

STARTUP_SECONDS = 60.0


@dataclasses.dataclass(frozen=True)
class PipelineSettings:
  """P pipelines of S stages, M micro-batches of each pipeline's batch of B, a schedule,
  SGD steps at a rate."""

  stages: int = 3
  micro_batch_count: int = 3
  batch_size: int = 48
  steps: int = 5
  schedule: str = "1f1b"
  learning_rate: float = 0.05
  seed: int = 0
  pipelines: int = 1

  def __post_init__(self):
    check_integer("pipelines", self.pipelines, 1)
    micro_batches(self.batch_size, self.micro_batch_count)


def pipeline_batch(settings: PipelineSettings, num_examples: int, step: int,
                   pipeline: int) -> np.ndarray:
  """The examples pipeline `pipeline` trains on at `step`."""
  return worker_batch(num_examples, settings.pipelines, settings.batch_size, settings.seed,
                      step, pipeline)


def union_batch(settings: PipelineSettings, num_examples: int, step: int) -> np.ndarray:
  """Every pipeline's examples at `step`, in pipeline order."""
  return np.concatenate([pipeline_batch(settings, num_examples, step, pipeline)
                         for pipeline in range(settings.pipelines)])


def stage_commands(addresses: Sequence[str], stages: int) -> dict:
  """Role ("stage S" or "pipeline P stage S") -> command line of each stage process; task
  P x stages + S of the cluster is stage S of pipeline P."""
  def role(index):
    pipeline, stage = divmod(index, stages)
    return f"stage {stage}" if len(addresses) == stages else f"pipeline {pipeline} stage {stage}"

  return {role(index): [sys.executable, "-m", "tff_course.distributed.stage_server",
                        "--cluster", ",".join(addresses), "--index", str(index)]
          for index in range(len(addresses))}


def stage_input_shapes(model, groups: Sequence[list]) -> List[Tuple[int, ...]]:
  """The shape (without the batch) of each stage's input."""
  return [tuple(model.input_shape[1:])] + [tuple(layers[-1].output_shape[1:])
                                           for layers in groups[:-1]]


def activation_stash(settings: PipelineSettings,
                     shapes: Sequence[Tuple[int, ...]]) -> List[Tuple[int, int]]:
  """(micro-batches held at once, their input bytes in float32) for each stage: what a
  stage keeps for its backward passes under the schedule."""
  size = micro_batches(settings.batch_size, settings.micro_batch_count)
  orders = stage_orders(settings.schedule, settings.stages, settings.micro_batch_count)
  return [(peak_stash(order), peak_stash(order) * size * int(np.prod(shape)) * 4)
          for order, shape in zip(orders, shapes)]


def run_pipeline(build_model: Callable[[], object], x: np.ndarray, y: np.ndarray,
                 settings: PipelineSettings, *,
                 delay: Optional[Callable] = None,
                 on_step: Optional[Callable[[int, StepResult], None]] = None
                 ) -> Tuple[List[np.ndarray], List[StepResult]]:
  """Trains on P x S stage processes; (the first pipeline's final weights in the model's
  order, each step's result). Connects this process to the stages' cluster (once per
  process)."""
  import tensorflow as tf

  from tff_course.tf_log import drop_retracing_warnings

  drop_retracing_warnings()
  tf.keras.utils.set_random_seed(settings.seed)
  model = build_model()
  groups = split_layers(model, settings.stages)
  initial = [[w for layer in layers for w in layer.get_weights()] for layers in groups]
  shapes = stage_input_shapes(model, groups)
  tasks = settings.stages * settings.pipelines
  addresses = loopback_addresses(tasks)
  ready = set()
  with ProcessGroup(stage_commands(addresses, settings.stages),
                    on_line=lambda role, line: ready.add(role) if line == READY else None
                    ) as group:
    wait_ready(group, ready, tasks, STARTUP_SECONDS, "the stages")
    tf.config.experimental_connect_to_cluster(tf.train.ClusterSpec({JOB: addresses}),
                                              job_name="controller")
    pipelines = [[RemoteStage(
        f"/job:{JOB}/replica:0/task:{pipeline * settings.stages + index}/device:CPU:0",
        layers, shapes[index], initial[index], learning_rate=settings.learning_rate,
        last=index == len(groups) - 1, micro_batch_count=settings.micro_batch_count,
        input_gradient=index > 0)
        for index, layers in enumerate(groups)] for pipeline in range(settings.pipelines)]
    results = []

    def train():
      tf.config.experimental.set_synchronous_execution(False)
      try:
        for step in range(settings.steps):
          batches = [(x[b], y[b]) for b in (pipeline_batch(settings, len(x), step, pipeline)
                                            for pipeline in range(settings.pipelines))]
          results.append(pipeline_step(pipelines, settings.schedule, batches,
                                       settings.micro_batch_count, delay))
          if on_step is not None:
            on_step(step, results[-1])
      finally:
        tf.config.experimental.set_synchronous_execution(True)
      return [w for stage in pipelines[0] for w in stage.weights()]

    weights = watched(train, group)
    group.stop()
  return weights, results


def train_single_process(build_model: Callable[[], object], x: np.ndarray, y: np.ndarray,
                         settings: PipelineSettings) -> List[np.ndarray]:
  """The same SGD steps on the same batches (all pipelines' together), the whole model in
  this process."""
  return sgd_on_batches(build_model, x, y,
                        [union_batch(settings, len(x), step) for step in range(settings.steps)],
                        settings.learning_rate, settings.seed)
