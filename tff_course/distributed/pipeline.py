"""Pipeline-parallel training with micro-batches on TensorFlow's gRPC runtime.

Each stage's layers and gradient accumulators live on one stage process
(`stage_server`); this process (the controller) places each stage's forward and backward
functions on it and dispatches the passes of a schedule (`pipeline_schedule`) without
waiting for them (asynchronous eager execution): activations travel forward and gradients
backward between the stages' devices as their consumers need them. A backward pass
recomputes its stage's forward from the stashed input. Gradients accumulate over the M
micro-batches with the loss scaled by 1/M, then every stage takes an SGD step, so a step
equals one SGD step on the whole batch.
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

    def apply(rate):
      for variable, accumulator in zip(variables, self.accumulators):
        variable.assign_sub(rate * accumulator)
        accumulator.assign(tf.zeros_like(accumulator))
      return tf.constant(0)

    self.forward = tf.function(forward, reduce_retracing=True)
    self.backward = tf.function(backward, reduce_retracing=True)
    self.backward_last = tf.function(backward_last, reduce_retracing=True)
    self.apply = tf.function(apply)
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


def pipeline_step(stages: Sequence[RemoteStage], schedule: str, x: np.ndarray, y: np.ndarray,
                  count: int, delay: Optional[Callable[[Op], None]] = None) -> StepResult:
  """One SGD step of the pipeline on the batch (x, y), cut into `count` micro-batches.

  `delay(op)`, if given, runs before each pass is dispatched (tests use it to delay
  transfers at random).
  """
  import tensorflow as tf

  began = time.perf_counter()
  size = micro_batches(len(x), count)
  xs = [x[m * size:(m + 1) * size] for m in range(count)]
  ys = [y[m * size:(m + 1) * size] for m in range(count)]
  last = len(stages) - 1
  stashed, outputs, gradients, stamps, losses = {}, {}, {}, {}, []
  for op in issue_order(stage_orders(schedule, len(stages), count)):
    if delay is not None:
      delay(op)
    stage, m = stages[op.stage], op.micro_batch
    with tf.device(stage.device):
      if op.kind == FORWARD:
        source = xs[m] if op.stage == 0 else outputs[(op.stage - 1, m)]
        stashed[(op.stage, m)] = source
        outputs[(op.stage, m)], stamps[op] = stage.forward(source)
      elif op.stage == last:
        (gradients[(op.stage, m)], value), stamps[op] = stage.backward_last(
            stashed.pop((op.stage, m)), ys[m])
        losses.append(value)
      else:
        gradients[(op.stage, m)], stamps[op] = stage.backward(
            stashed.pop((op.stage, m)), gradients.pop((op.stage + 1, m)))
  for stage in stages:
    with tf.device(stage.device):
      stage.apply(tf.constant(stage.learning_rate, tf.float32))
  times = {op: tuple(float(t) for t in stamp.numpy()) for op, stamp in stamps.items()}
  loss = float(np.mean([float(v) for v in losses]))
  return StepResult(loss, times, time.perf_counter() - began)
