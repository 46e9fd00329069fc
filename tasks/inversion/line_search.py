"""A strong-Wolfe line search, as PyTorch's `torch.optim.LBFGS(line_search_fn="strong_wolfe")`
runs it, in TensorFlow (pure, jit-compilable).

Along x + t d from a trial step t: first bracket an interval that holds a point
satisfying the strong Wolfe conditions (Nocedal and Wright, "Numerical Optimization",
algorithm 3.5), extrapolating by cubic interpolation within [t + 0.01 (t - t_prev),
10 t]; then zoom into it (algorithm 3.6) by cubic interpolation, moved 10 % of the
interval away from its ends when progress stalls at a boundary. At most `max_ls`
evaluations after the first. Conditions, with f, g at x and gtd = g.d:
  sufficient decrease  f(x + t d) <= f + c1 t gtd
  curvature            |g(x + t d).d| <= -c2 gtd
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import tensorflow as tf

C1 = 1e-4
C2 = 0.9
MAX_LS = 25


class _Bracket(NamedTuple):
  """Two trial points (step, value, gradient, directional derivative), the index of the
  lower one, and whether the Wolfe conditions hold at it."""

  steps: tf.Tensor
  values: tf.Tensor
  gradients: tf.Tensor
  slopes: tf.Tensor
  low: tf.Tensor
  done: tf.Tensor


def cubic_minimum(x1, f1, g1, x2, f2, g2, lower, upper):
  """The minimiser of the cubic through (x1, f1, slope g1) and (x2, f2, slope g2),
  clipped into [lower, upper]; their midpoint when the cubic has no minimum."""
  d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
  d2_square = d1 * d1 - g1 * g2
  d2 = tf.sqrt(tf.maximum(d2_square, 0))
  minimum = tf.where(x1 <= x2, x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2)),
                     x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2)))
  return tf.where(d2_square >= 0, tf.minimum(tf.maximum(minimum, lower), upper),
                  (lower + upper) / 2)


def strong_wolfe(value_and_gradient: Callable, x, step, direction, value, gradient, slope,
                 tolerance_change: float = 1e-9):
  """PyTorch's `_strong_wolfe` with its defaults (c1 1e-4, c2 0.9, 25 iterations).

  Args:
    value_and_gradient: flat x -> (scalar value, flat gradient).
    x, direction: the point and a descent direction (slope < 0).
    step: the first trial step.
    value, gradient, slope: f(x), its gradient and gradient.direction.
    tolerance_change: the zoom stops when the interval times max|direction| is below it.

  Returns:
    (value, gradient, step) at the accepted point x + step * direction, and the number
    of evaluations.
  """
  dtype = x.dtype
  threshold = -C2 * slope

  def evaluate(t):
    new_value, new_gradient = value_and_gradient(x + t * direction)
    return new_value, new_gradient, tf.tensordot(new_gradient, direction, 1)

  first = evaluate(step)
  bracket, iterations = _bracket_phase(evaluate, step, first, (value, gradient, slope),
                                       threshold)
  bracket, iterations = _zoom_phase(evaluate, bracket, iterations, value, slope, threshold,
                                    tf.reduce_max(tf.abs(direction)),
                                    tf.constant(tolerance_change, dtype))
  return (bracket.values[bracket.low], bracket.gradients[bracket.low],
          bracket.steps[bracket.low], iterations + 1)


def _bracket_phase(evaluate, step, first, start, threshold):
  """Steps forward until the interval [previous step, step] holds an acceptable point,
  or the step itself satisfies the conditions."""
  value, gradient, slope = start
  zero = tf.zeros([], step.dtype)

  def check(iteration, previous, current):
    t, f_new, _, gtd_new = current
    too_high = (f_new > value + C1 * t * slope) | ((iteration > 1) & (f_new >= previous[1]))
    accepted = tf.abs(gtd_new) <= threshold
    return tf.where(too_high | (~accepted & (gtd_new >= 0)), 1, tf.where(accepted, 2, 0))

  def body(iteration, previous, current, status):
    status = check(iteration, previous, current)

    def extrapolate():
      t_prev, f_prev, _, gtd_prev = previous
      t, f_new, _, gtd_new = current
      next_t = cubic_minimum(t_prev, f_prev, gtd_prev, t, f_new, gtd_new,
                             t + 0.01 * (t - t_prev), t * 10)
      return iteration + 1, current, (next_t,) + evaluate(next_t)

    return tf.cond(tf.equal(status, 0), extrapolate,
                   lambda: (iteration, previous, current)) + (status,)

  iteration, previous, current, status = tf.while_loop(
      lambda i, p, c, s: tf.equal(s, 0) & (i < MAX_LS), body,
      (tf.constant(0), (zero, value, gradient, slope), (step,) + first, tf.constant(0)),
      parallel_iterations=1)
  start_point = (zero, value, gradient, slope)
  lower = [tf.where(tf.equal(status, 0), s, tf.where(tf.equal(status, 2), c, p))
           for s, c, p in zip(start_point, current, previous)]
  stacked = [tf.stack([a, b]) for a, b in zip(lower, current)]
  low = tf.where(stacked[1][0] <= stacked[1][1], 0, 1)
  return _Bracket(*stacked, low, tf.equal(status, 2)), iteration


def _zoom_phase(evaluate, bracket: _Bracket, iteration, value, slope, threshold, d_norm,
                tolerance_change):
  """Shrinks the bracket until its lower point satisfies the conditions."""

  def keep_going(iteration, bracket, insufficient):
    width = tf.abs(bracket.steps[1] - bracket.steps[0])
    return ~bracket.done & (iteration < MAX_LS) & ~(width * d_norm < tolerance_change)

  def body(iteration, bracket, insufficient):
    steps, values, _, slopes, low, _ = bracket
    lower, upper = tf.reduce_min(steps), tf.reduce_max(steps)
    t = cubic_minimum(steps[0], values[0], slopes[0], steps[1], values[1], slopes[1],
                      lower, upper)
    eps = 0.1 * (upper - lower)
    near = tf.minimum(upper - t, t - lower) < eps
    move = near & (insufficient | (t >= upper) | (t <= lower))
    t = tf.where(move, tf.where(tf.abs(t - upper) < tf.abs(t - lower), upper - eps,
                                lower + eps), t)
    insufficient = near & ~move
    f_new, g_new, gtd_new = evaluate(t)
    high = 1 - low
    too_high = (f_new > value + C1 * t * slope) | (f_new >= values[low])
    accepted = ~too_high & (tf.abs(gtd_new) <= threshold)
    swap = ~too_high & ~accepted & (gtd_new * (steps[high] - steps[low]) >= 0)
    bracket = _replace(bracket, high, bracket, low, swap)
    point = (t, f_new, g_new, gtd_new)
    bracket = _set(bracket, tf.where(too_high, high, low), point)
    new_low = tf.where(too_high, tf.where(bracket.values[0] <= bracket.values[1], 0, 1), low)
    return iteration + 1, bracket._replace(low=new_low, done=accepted), insufficient

  iteration, bracket, _ = tf.while_loop(keep_going, body,
                                        (iteration, bracket, tf.constant(False)),
                                        parallel_iterations=1)
  return bracket, iteration


def _set(bracket: _Bracket, index, point) -> _Bracket:
  """The bracket with point (step, value, gradient, slope) at `index`."""
  mask = tf.equal(tf.range(2), index)
  step, value, gradient, slope = point
  return bracket._replace(steps=tf.where(mask, step, bracket.steps),
                          values=tf.where(mask, value, bracket.values),
                          gradients=tf.where(mask[:, None], gradient[None], bracket.gradients),
                          slopes=tf.where(mask, slope, bracket.slopes))


def _replace(bracket: _Bracket, index, source: _Bracket, source_index, condition) -> _Bracket:
  """Where `condition`, the bracket's point `index` becomes source's `source_index`."""
  point = (source.steps[source_index], source.values[source_index],
           source.gradients[source_index], source.slopes[source_index])
  return tf.cond(condition, lambda: _set(bracket, index, point), lambda: bracket)
