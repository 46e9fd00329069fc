"""Pipeline-parallel training with micro-batches on TensorFlow's gRPC runtime.

Each stage's layers and gradient accumulators live on one stage process
(`stage_server`); this process (the controller) places each stage's forward and backward
functions on it and dispatches the passes of a schedule (`pipeline_schedule`) without
waiting for them (asynchronous eager execution): activations travel forward and gradients
backward between the stages' devices as their consumers need them. A backward pass
recomputes its stage's forward from the stashed input. Gradients accumulate over the M
micro-batches with the loss scaled by 1/M, then every stage takes an SGD step, so a step
equals one SGD step on the whole batch. Several pipelines (data and model parallelism at
once) each take their own batch; the copies of a stage average their gradients within
their own group before the step (`average_copies`), which then equals one SGD step on the
union of the pipelines' batches.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from tff_course.distributed.pipeline_schedule import FORWARD, Op, issue_order, stage_orders
from tff_course.errors import ConfigError


def micro_batches(batch_size: int, count: int) -> int:
  """The micro-batch size; ConfigError unless `count` divides `batch_size`."""
  if count < 1:
    raise ConfigError(f"micro_batches (M): got {count}, expected an integer >= 1")
  if batch_size % count:
    raise ConfigError(f"micro_batches (M): a batch of {batch_size} does not cut into {count} "
                      f"equal micro-batches ({batch_size} = {count} x {batch_size // count} "
                      f"+ {batch_size % count}); choose an M that divides it")
  return batch_size // count


class RemoteStage:
  """One stage: copies of its layers, with the given weights, on `device`."""

  def __init__(self, device: str, layers: Sequence, input_shape: Tuple[int, ...],
               weights: Sequence[np.ndarray], *, learning_rate: float, last: bool,
               micro_batch_count: int, input_gradient: bool):
    import tensorflow as tf

    self.device = device
    self.last = last
    with tf.device(device):
      self.model = tf.keras.Sequential(
          [type(layer).from_config(layer.get_config()) for layer in layers])
      self.model.build((None,) + tuple(input_shape))
      self.model.set_weights(list(weights))
      self.accumulators = [tf.Variable(tf.zeros_like(v), trainable=False)
                           for v in self.model.trainable_variables]
    scale = 1.0 / micro_batch_count
    loss = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    variables = self.model.trainable_variables

    def stamped(compute):
      start = tf.timestamp()
      with tf.control_dependencies([start]):
        outputs = compute()
      with tf.control_dependencies(tf.nest.flatten(outputs)):
        end = tf.timestamp()
      return outputs, tf.stack([start, end])

    def accumulate(gradients):
      for accumulator, gradient in zip(self.accumulators, gradients):
        accumulator.assign_add(gradient)

    def forward(x):
      return stamped(lambda: self.model(x, training=True))

    def backward(x, upstream):
      def compute():
        with tf.GradientTape() as tape:
          tape.watch(x)
          outputs = self.model(x, training=True)
        sources = ([x] if input_gradient else []) + variables
        gradients = tape.gradient(outputs, sources, output_gradients=upstream)
        accumulate(gradients[1:] if input_gradient else gradients)
        return gradients[0] if input_gradient else tf.zeros([])
      return stamped(compute)

    def backward_last(x, labels):
      def compute():
        with tf.GradientTape() as tape:
          tape.watch(x)
          value = loss(labels, self.model(x, training=True))
          scaled = value * scale
        sources = ([x] if input_gradient else []) + variables
        gradients = tape.gradient(scaled, sources)
        accumulate(gradients[1:] if input_gradient else gradients)
        return (gradients[0] if input_gradient else tf.zeros([])), value
      return stamped(compute)

    def set_accumulated(values):
      for accumulator, value in zip(self.accumulators, values):
        accumulator.assign(value)
      return tf.constant(0)

    def apply(rate):
      for variable, accumulator in zip(variables, self.accumulators):
        variable.assign_sub(rate * accumulator)
        accumulator.assign(tf.zeros_like(accumulator))
      return tf.constant(0)

    self.forward = tf.function(forward, reduce_retracing=True)
    self.backward = tf.function(backward, reduce_retracing=True)
    self.backward_last = tf.function(backward_last, reduce_retracing=True)
    self.apply = tf.function(apply)
    self.set_accumulated = tf.function(set_accumulated)
    self.learning_rate = learning_rate

  def weights(self) -> List[np.ndarray]:
    return [v.numpy() for v in self.model.trainable_variables]


@dataclasses.dataclass(frozen=True)
class StepResult:
  """One pipeline step: its mean loss, each pass's (start, end) on its stage's clock, and
  the step's wall time on the controller."""

  loss: float
  times: Dict[Op, Tuple[float, float]]
  seconds: float


def average_copies(copies: Sequence[RemoteStage]) -> None:
  """The copies of one stage (one per pipeline) replace their accumulated gradients by
  their mean: summed on the first copy's process, which receives the others' over gRPC,
  and sent back to every copy (an all-reduce within the stage's group)."""
  import tensorflow as tf

  with tf.device(copies[0].device):
    means = [tf.add_n([copy.accumulators[i] for copy in copies]) / float(len(copies))
             for i in range(len(copies[0].accumulators))]
  for copy in copies:
    with tf.device(copy.device):
      copy.set_accumulated(means)


def pipeline_step(pipelines: Sequence[Sequence[RemoteStage]], schedule: str,
                  batches: Sequence[Tuple[np.ndarray, np.ndarray]], count: int,
                  delay: Optional[Callable[[Op], None]] = None) -> StepResult:
  """One SGD step of every pipeline, each on its batch cut into `count` micro-batches; with
  several pipelines the copies of each stage average their gradients (`average_copies`)
  before the step.

  `delay(op)`, if given, runs before each pass is dispatched (tests use it to delay
  transfers at random). The result's times are the first pipeline's.
  """
  import tensorflow as tf

  began = time.perf_counter()
  size = micro_batches(len(batches[0][0]), count)
  cut = [([x[m * size:(m + 1) * size] for m in range(count)],
          [y[m * size:(m + 1) * size] for m in range(count)]) for x, y in batches]
  last = len(pipelines[0]) - 1
  stashed, outputs, gradients, stamps, losses = {}, {}, {}, {}, []
  for op in issue_order(stage_orders(schedule, len(pipelines[0]), count)):
    if delay is not None:
      delay(op)
    for replica, stages in enumerate(pipelines):
      stage, m, key = stages[op.stage], op.micro_batch, (replica, op.stage, op.micro_batch)
      with tf.device(stage.device):
        if op.kind == FORWARD:
          source = cut[replica][0][m] if op.stage == 0 else outputs[(replica, op.stage - 1, m)]
          stashed[key] = source
          outputs[key], stamp = stage.forward(source)
        elif op.stage == last:
          (gradients[key], value), stamp = stage.backward_last(stashed.pop(key),
                                                               cut[replica][1][m])
          losses.append(value)
        else:
          gradients[key], stamp = stage.backward(
              stashed.pop(key), gradients.pop((replica, op.stage + 1, m)))
      if replica == 0:
        stamps[op] = stamp
  if len(pipelines) > 1:
    for copies in zip(*pipelines):
      average_copies(copies)
  for stages in pipelines:
    for stage in stages:
      with tf.device(stage.device):
        stage.apply(tf.constant(stage.learning_rate, tf.float32))
  times = {op: tuple(float(t) for t in stamp.numpy()) for op, stamp in stamps.items()}
  loss = float(np.mean([float(v) for v in losses]))
  return StepResult(loss, times, time.perf_counter() - began)
