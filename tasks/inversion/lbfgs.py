"""L-BFGS as PyTorch's `torch.optim.LBFGS` runs it, in TensorFlow.

DLG (Zhu et al., 2019) calls `LBFGS(lr=1)` (history 100, up to 20 iterations per step,
tolerances 1e-7 on the gradient and 1e-9 on changes, no line search) 300 times. Each
iteration takes the two-loop-recursion direction (Nocedal and Wright, "Numerical
Optimization", algorithm 7.4) with a fixed step: min(1, 1/|g|_1) * lr on the very first
iteration, lr afterwards. With `line_search="strong_wolfe"` that step is only the first
trial of PyTorch's strong-Wolfe line search (`line_search.py`).

`lbfgs_step` is one `step(closure)`: pure, in TensorFlow, jit-compilable. The state
carries PyTorch's `d`, `t`, history and previous gradient from one step to the next.
The history keeps its newest pair last; unused rows are zero, and a zero pair leaves
the recursion unchanged, so every step runs the same graph.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import tensorflow as tf

from tasks.inversion.lbfgs_config import LbfgsConfig
from tasks.inversion.line_search import strong_wolfe

CURVATURE_EPSILON = 1e-10


class LbfgsState(NamedTuple):
  """What PyTorch keeps in `optimizer.state` between steps."""

  iterations: tf.Tensor
  direction: tf.Tensor
  step_size: tf.Tensor
  steps: tf.Tensor
  changes: tf.Tensor
  inverse_curvature: tf.Tensor
  hessian_diagonal: tf.Tensor
  previous_gradient: tf.Tensor


def initial_state(size: int, history_size: int, dtype=tf.float32) -> LbfgsState:
  """The state before the first step, for a flat variable of `size` elements."""
  zeros = tf.zeros([size], dtype)
  history = tf.zeros([history_size, size], dtype)
  return LbfgsState(iterations=tf.constant(0, tf.int32), direction=zeros,
                    step_size=tf.constant(0, dtype), steps=history, changes=history,
                    inverse_curvature=tf.zeros([history_size], dtype),
                    hessian_diagonal=tf.constant(1, dtype), previous_gradient=zeros)


def two_loop_direction(gradient, steps, changes, inverse_curvature, hessian_diagonal):
  """-H g by the two-loop recursion over the history (oldest row first)."""
  history_size = tf.shape(steps)[0]

  def backward(i, q, alphas):
    index = history_size - 1 - i
    alpha = tf.tensordot(steps[index], q, 1) * inverse_curvature[index]
    return i + 1, q - alpha * changes[index], tf.tensor_scatter_nd_update(
        alphas, [[index]], [alpha])

  _, q, alphas = tf.while_loop(
      lambda i, *_: i < history_size, backward,
      (tf.constant(0), -gradient, tf.zeros_like(inverse_curvature)), parallel_iterations=1)

  def forward(index, r):
    beta = tf.tensordot(changes[index], r, 1) * inverse_curvature[index]
    return index + 1, r + (alphas[index] - beta) * steps[index]

  _, r = tf.while_loop(lambda i, _: i < history_size, forward,
                       (tf.constant(0), q * hessian_diagonal), parallel_iterations=1)
  return r


def _push(history, row):
  return tf.concat([history[1:], row[None]], axis=0)


def _updated_history(state: LbfgsState, gradient):
  """PyTorch's history update at an iteration after the first."""
  change = gradient - state.previous_gradient
  step = state.direction * state.step_size
  curvature = tf.tensordot(change, step, 1)
  accept = curvature > CURVATURE_EPSILON
  return (tf.where(accept, _push(state.steps, step), state.steps),
          tf.where(accept, _push(state.changes, change), state.changes),
          tf.where(accept, _push(state.inverse_curvature[:, None], 1 / curvature[None])[:, 0],
                   state.inverse_curvature),
          tf.where(accept, curvature / tf.tensordot(change, change, 1),
                   state.hessian_diagonal))


def lbfgs_step(value_and_gradient: Callable, x, state: LbfgsState, config: LbfgsConfig):
  """One `torch.optim.LBFGS.step(closure)`.

  Args:
    value_and_gradient: flat x -> (scalar loss, flat gradient), in TensorFlow.
    x: the flat variable, float32 or float64.
    state: from `initial_state` or the previous step.
    config: the optimizer's arguments.

  Returns:
    (new x, new state, the loss at the given x, number of objective evaluations).
  """
  dtype = x.dtype
  lr = tf.constant(config.learning_rate, dtype)
  tol_change = tf.constant(config.tolerance_change, dtype)
  first_loss, first_gradient = value_and_gradient(x)

  def iterate(count, x, loss, gradient, state, evaluations, done):
    count += 1
    iterations = state.iterations + 1
    first = tf.equal(iterations, 1)
    steps, changes, rho, diagonal = _updated_history(state, gradient)
    direction = tf.cond(first, lambda: -gradient,
                        lambda: two_loop_direction(gradient, steps, changes, rho, diagonal))
    step_size = tf.where(
        first, tf.minimum(tf.ones([], dtype), 1 / tf.reduce_sum(tf.abs(gradient))) * lr, lr)
    slope = tf.tensordot(gradient, direction, 1)
    descent = slope <= -tol_change
    if config.line_search is None:
      moved = tf.where(descent, x + step_size * direction, x)
      evaluate = descent & (count < config.max_iter)
      new_loss, new_gradient = tf.cond(evaluate, lambda: value_and_gradient(moved),
                                       lambda: (loss, gradient))
      evaluations += tf.cast(evaluate, tf.int32)
    else:
      new_loss, new_gradient, step_size, searched = tf.cond(
          descent, lambda: strong_wolfe(value_and_gradient, x, step_size, direction, loss,
                                        gradient, slope, config.tolerance_change),
          lambda: (loss, gradient, step_size, tf.constant(0)))
      moved = tf.where(descent, x + step_size * direction, x)
      evaluate = descent
      evaluations += searched
    new_state = LbfgsState(iterations, direction, step_size, steps, changes, rho, diagonal,
                           gradient)
    stop = (~descent | (count >= config.max_iter) | (evaluations >= config.max_eval) |
            (evaluate & (tf.reduce_max(tf.abs(new_gradient)) <= config.tolerance_grad)) |
            (tf.reduce_max(tf.abs(direction * step_size)) <= tol_change) |
            (evaluate & (tf.abs(new_loss - loss) < tol_change)))
    return count, moved, new_loss, new_gradient, new_state, evaluations, stop

  converged = tf.reduce_max(tf.abs(first_gradient)) <= config.tolerance_grad
  _, x_new, _, _, new_state, evaluations, _ = tf.while_loop(
      lambda *args: ~args[-1], iterate,
      (tf.constant(0), x, first_loss, first_gradient, state, tf.constant(1), converged),
      parallel_iterations=1)
  return x_new, new_state, first_loss, evaluations
