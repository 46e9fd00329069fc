"""Gradient-inversion attacks: recover a client's images (and labels) from its gradient.

- DLG: Zhu, Liu and Han, "Deep Leakage from Gradients", NeurIPS 2019. A dummy image and
  a dummy soft label (softmax of free logits), both from a standard normal draw, are
  optimised by L-BFGS (`lbfgs.py`) so that their gradient matches the shared one in
  squared Euclidean distance.
- iDLG: Zhao, Mopuri and Bilen, "iDLG: Improved Deep Leakage from Gradients", 2020. The
  label is read from the last layer's gradient: with cross-entropy and non-negative
  features (sigmoid, ReLU), only the true class's column of the kernel gradient sums
  to a negative number. Only the image is then optimised, as in DLG.
- Inverting Gradients: Geiping, Bauermeister, Droege and Moeller, NeurIPS 2020. Cosine
  distance between gradients plus a total-variation prior, minimised by Adam on the
  sign of the gradient, step size decayed by 10 at 3/8, 5/8 and 7/8 of the
  iterations, the image clipped into [0, 1] after every step; labels as in iDLG.

An attack sees the model, the shared gradient and the input shape, never the images.
It stops early, keeping the last finite iterate, when the objective becomes NaN or
infinite ("diverged") or when L-BFGS can make no further progress ("stalled"). A
failed DLG or iDLG attempt is restarted from a fresh dummy (`restarts.py`).
"""

from __future__ import annotations

import time
from typing import Callable, List, Tuple

import numpy as np
import tensorflow as tf

from tasks.inversion.attack_config import Attack, AttackConfig
from tasks.inversion.checks import check_gradients, check_positive_int
from tasks.inversion.lbfgs import initial_state, lbfgs_step
from tasks.inversion.objectives import (cosine_distance, model_gradients, squared_distance,
                                        squared_norm, total_variation)
from tasks.inversion.outcome import AttackResult, Status
from tasks.inversion.restarts import failure_reason, relative_distance, run_with_restarts
from tff_course.tf_log import drop_retracing_warnings


def infer_labels(last_kernel_gradient, batch_size: int = 1) -> np.ndarray:
  """iDLG: the `batch_size` classes whose columns of the last dense layer's kernel
  gradient (features x classes) have the most negative sums (distinct labels assumed
  when batch_size > 1)."""
  sums = np.sum(np.asarray(last_kernel_gradient, np.float64), axis=0)
  return np.sort(np.argsort(sums, kind="stable")[:batch_size]).astype(np.int32)


def run_attack(model, gradients, batch_size: int, config: AttackConfig) -> AttackResult:
  """Recovers `batch_size` inputs of `model` from its shared `gradients`.

  Raises:
    GradientError: a None, misshapen or non-finite gradient entry.
    ConfigError: bad settings.
  """
  targets, image_shape, num_classes = attack_inputs(model, gradients, batch_size)
  batch_size = image_shape[0]
  attack = Attack(config.attack)
  if attack is Attack.DLG:
    return _lbfgs_attack(model, targets, *dlg_problem(image_shape, num_classes), config)
  labels = infer_labels(targets[-2], batch_size)
  if attack is Attack.IDLG:
    return _lbfgs_attack(model, targets, *idlg_problem(image_shape, labels, num_classes),
                         config)
  return run_with_restarts(
      lambda seed: _inverting_gradients(model, targets, image_shape, labels,
                                        np.random.default_rng(seed), config),
      lambda result: (float("nan"), _judge(result, float("nan"), config)),
      seed=config.seed, restarts=0)


def attack_inputs(model, gradients, batch_size: int):
  """(checked target gradients as tensors, dummy image shape, number of classes).

  Raises:
    GradientError: a None, misshapen or non-finite gradient entry.
    ConfigError: a batch size that is not a whole number >= 1.
  """
  targets = [tf.constant(g) for g in check_gradients(gradients, model.trainable_variables)]
  image_shape = (check_positive_int("batch size", batch_size),) + tuple(model.input_shape[1:])
  return targets, image_shape, int(model.output_shape[-1])


def dlg_problem(image_shape, num_classes):
  """DLG's (image shape, draw, unpack, labels_of): a dummy image and dummy label logits
  in one vector."""
  size = int(np.prod(image_shape))
  label_shape = (image_shape[0], num_classes)

  def draw(rng):
    return np.concatenate([rng.standard_normal(size),
                           rng.standard_normal(int(np.prod(label_shape)))]).astype(np.float32)

  def unpack(x):
    return tf.reshape(x[:size], image_shape), tf.nn.softmax(tf.reshape(x[size:], label_shape))

  return image_shape, draw, unpack, lambda x: np.argmax(np.reshape(x[size:], label_shape), 1)


def idlg_problem(image_shape, labels, num_classes):
  """iDLG's (image shape, draw, unpack, labels_of): only the image is optimised."""
  size = int(np.prod(image_shape))
  soft_labels = tf.one_hot(labels, num_classes)
  return (image_shape, lambda rng: rng.standard_normal(size).astype(np.float32),
          lambda x: (tf.reshape(x, image_shape), soft_labels), lambda _: labels)


def _lbfgs_attack(model, targets, image_shape, draw, unpack, labels_of,
                  config: AttackConfig) -> AttackResult:
  """L-BFGS on the gradient distance, restarted from fresh dummies while it fails."""
  drop_retracing_warnings()
  objective = distance_objective(model, targets, unpack)
  step = tf.function(lambda x, state: lbfgs_step(objective, x, state, config.lbfgs),
                     jit_compile=config.jit_compile)
  norm = float(squared_norm(targets))
  size = int(np.prod(image_shape))

  def judge(result):
    relative = relative_distance(result.objective, norm)
    return relative, _judge(result, relative, config)

  return run_with_restarts(
      lambda seed: _run_lbfgs(step, objective, draw(np.random.default_rng(seed)), size,
                              image_shape, labels_of, config),
      judge, seed=config.seed, restarts=config.restarts)


def _judge(result: AttackResult, relative: float, config: AttackConfig) -> str:
  return failure_reason(result.status, relative, float(np.max(np.abs(result.images))),
                        max_relative=config.restart_distance, bound=config.dummy_bound)


def distance_objective(model, targets, unpack: Callable) -> Callable:
  """x -> (DLG's gradient distance, its gradient with respect to x)."""
  def value_and_gradient(x):
    with tf.GradientTape() as tape:
      tape.watch(x)
      images, soft_labels = unpack(x)
      distance = squared_distance(model_gradients(model, images, soft_labels), targets)
    return distance, tape.gradient(distance, x)
  return value_and_gradient


def _run_lbfgs(step, objective, x0, size, image_shape, labels_of, config) -> AttackResult:
  x, state = tf.constant(x0), initial_state(len(x0), config.lbfgs.history_size)
  recorder = _Recorder(config, lambda v: np.reshape(v[:size], image_shape))
  status, message, done = Status.FINISHED, "", 0
  for done in range(config.iterations):
    recorder.snapshot(done, x.numpy())
    moved, new_state, loss, evaluations = step(x, state)
    recorder.count(int(evaluations))
    if not (np.isfinite(float(loss)) and np.all(np.isfinite(moved.numpy()))):
      status, message = Status.DIVERGED, _diverged(done, float(loss))
      break
    recorder.losses.append(float(loss))
    if int(evaluations) == 1 and np.array_equal(moved.numpy(), x.numpy()):
      status, message = Status.STALLED, (
          f"L-BFGS stalled after {done} steps (gradient below tolerance or no descent "
          f"direction, loss {float(loss):.3g}); later steps would change nothing")
      break
    x, state = moved, new_state
  else:
    done = config.iterations
  recorder.count(1)
  return recorder.result(x.numpy(), labels_of(x.numpy()), status, message, done,
                         float(objective(x)[0]))


def _inverting_gradients(model, targets, image_shape, labels, rng, config) -> AttackResult:
  soft_labels = tf.one_hot(labels, int(model.output_shape[-1]))
  images = tf.Variable(rng.uniform(0, 1, image_shape).astype(np.float32))
  boundaries = [int(config.iterations * f) for f in (3 / 8, 5 / 8, 7 / 8)]
  optimizer = tf.keras.optimizers.Adam(
      tf.keras.optimizers.schedules.PiecewiseConstantDecay(
          boundaries, [config.learning_rate * 10.0 ** -k for k in range(4)]))

  def objective(x):
    return (cosine_distance(model_gradients(model, x, soft_labels), targets) +
            config.tv_weight * total_variation(x))

  @tf.function(jit_compile=False)
  def step():
    with tf.GradientTape() as tape:
      loss = objective(images)
    optimizer.apply_gradients([(tf.sign(tape.gradient(loss, images)), images)])
    images.assign(tf.clip_by_value(images, 0.0, 1.0))
    return loss

  recorder = _Recorder(config, lambda v: v)
  status, message, done, last = Status.FINISHED, "", 0, images.numpy()
  for done in range(config.iterations):
    recorder.snapshot(done, last)
    loss = float(step())
    recorder.count(1)
    if not (np.isfinite(loss) and np.all(np.isfinite(images.numpy()))):
      status, message = Status.DIVERGED, _diverged(done, loss)
      break
    recorder.losses.append(loss)
    last = images.numpy()
  else:
    done = config.iterations
  recorder.count(1)
  return recorder.result(last, labels, status, message, done, float(objective(last)))


def _diverged(step: int, loss: float) -> str:
  return (f"the optimiser diverged at step {step + 1} (objective {loss}); kept the last "
          f"finite images, from step {step}")


class _Recorder:
  """Collects snapshots, losses and counts during an attack."""

  def __init__(self, config: AttackConfig, images_of: Callable):
    self.every = max(1, int(np.ceil(config.iterations / config.snapshots)))
    self.images_of = images_of
    self.snapshots: List[Tuple[int, np.ndarray]] = []
    self.losses: List[float] = []
    self.evaluations = 0
    self.start = time.perf_counter()

  def snapshot(self, step: int, x) -> None:
    if step % self.every == 0:
      self.snapshots.append((step, np.array(self.images_of(x))))

  def count(self, evaluations: int) -> None:
    self.evaluations += evaluations

  def result(self, x, labels, status: Status, message: str, steps: int,
             objective: float) -> AttackResult:
    images = np.array(self.images_of(x))
    if not self.snapshots or self.snapshots[-1][0] != steps:
      self.snapshots.append((steps, images))
    return AttackResult(images=images, labels=np.asarray(labels, np.int32),
                        snapshots=self.snapshots, losses=self.losses, status=status,
                        message=message, steps=steps, evaluations=self.evaluations,
                        seconds=time.perf_counter() - self.start,
                        objective=objective if np.isfinite(objective) else float("inf"))
