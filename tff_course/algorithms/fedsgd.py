"""FedSGD in its two forms, as TFF learning processes.

McMahan et al. (2017) describe FedSGD as each selected client computing the gradient
g_k of its loss on all its data at the current model w, and the server stepping
w <- w - lr * sum_k n_k g_k / n. Equivalently each client takes that step itself,
w_k = w - lr * g_k, and the server averages the w_k weighted by n_k. Both forms
compose the toolkit's own client work: the gradient form sends the mean gradient and
the server steps with SGD (as TFF's `build_fed_sgd`, but through the aggregator that
drops and counts non-finite updates); the weight form takes one full-batch step, sends
the weights, and a finalizer adopts the average. The two agree up to floating-point
rounding; they part ways as soon as a client takes more than one step (B < all, or
E > 1), which is FedAvg.
"""

from __future__ import annotations

import enum
from typing import Callable, Optional

from tff_course.algorithms.client_work import build_client_work, load_weights
from tff_course.algorithms.compose import apply_optimizer, compose
from tff_course.errors import ConfigError


class FedSgdForm(enum.Enum):
  GRADIENT = "gradient"
  WEIGHTS = "weights"


def build_fedsgd(model_fn: Callable, *, learning_rate: float, form: str = "gradient",
                 model_aggregator=None, num_groups: Optional[int] = None,
                 client_batches: Optional[Callable] = None, packed: bool = False):
  """A FedSGD learning process.

  Args:
    model_fn: returns a fresh `tff.learning.models.VariableModel`.
    learning_rate: the SGD step size, > 0.
    form: "gradient" (clients send gradients, the server steps) or "weights" (clients
      step, the server averages weights).
    model_aggregator: a weighted `tff.aggregators` factory (default: weighted mean).
    num_groups: clients' data carry their group and their weights are per-group
      vectors for a group-aware aggregator (see build_client_work).
    client_batches, packed: clients hold input rows instead of datasets, and with
      `packed` several clients share a call (see build_client_work).

  The clients' datasets should hold all their examples in one batch (B = all) for
  this to be FedSGD; with more batches each client still takes exactly one step, on
  the average gradient over its batches.
  """
  from tff_course.runtime.tff_module import tff

  if not learning_rate > 0:
    raise ConfigError(f"learning_rate: got {learning_rate}, expected a number > 0")
  try:
    form = FedSgdForm(form)
  except ValueError:
    raise ConfigError(f"form: got {form!r}, expected 'gradient' or 'weights'") from None
  gradient_form = form is FedSgdForm.GRADIENT
  client_work = build_client_work(
      model_fn, _full_batch_step(None if gradient_form else learning_rate),
      num_groups=num_groups, client_batches=client_batches, packed=packed)
  finalizer = (apply_optimizer(tff.learning.optimizers.build_sgdm(learning_rate))
               if gradient_form else _adopt_average_finalizer)
  return compose(model_fn, client_work, finalizer, model_aggregator, num_groups)


def _full_batch_step(learning_rate: Optional[float]) -> Callable:
  """A client step over all the client's data at the server weights: it sends the mean
  gradient (gradient form, `learning_rate` None), or the weights after one step down
  that gradient (weight form), weighted by its number of examples."""
  import tensorflow as tf

  from tff_course.runtime.tff_module import tff

  def client_step(model, initial_weights, batches, rate):
    del rate
    weights = load_weights(model, initial_weights)

    def accumulate(state, batch):
      sums, count = state
      with tf.GradientTape() as tape:
        output = model.forward_pass(batch, training=True)
      gradients = tape.gradient(output.loss, weights.trainable,
                                unconnected_gradients=tf.UnconnectedGradients.ZERO)
      examples = tf.cast(output.num_examples, tf.float32)
      return (tuple(s + examples * g for s, g in zip(sums, gradients)), count + examples)

    zeros = tuple(tf.zeros_like(w) for w in weights.trainable)
    sums, count = batches.reduce((zeros, tf.constant(0.0)), accumulate)
    gradient = [s / count for s in sums]
    update = (gradient if learning_rate is None else
              [w - learning_rate * g for w, g in zip(initial_weights.trainable, gradient)])
    result = tff.learning.templates.ClientResult(update=update, update_weight=count)
    return result, model.report_local_unfinalized_metrics()

  return client_step


def _adopt_average_finalizer(weights_type):
  """The server adopts the clients' average weights, unless the average is not finite
  (as when every client was dropped): it then keeps its own, as TFF's apply-optimizer
  finalizer rejects a non-finite update."""
  import tensorflow as tf

  from tff_course.aggregators.finite import all_finite
  from tff_course.aggregators.structure import flatten
  from tff_course.runtime.tff_module import tff

  update_type = weights_type.trainable

  @tff.federated_computation
  def init_fn():
    return tff.federated_value((), tff.SERVER)

  @tff.tensorflow.computation(weights_type, update_type)
  def adopt(weights, average):
    tensors, pack = flatten(average)
    finite = all_finite(tensors)
    trainable = pack([tf.where(finite, new, old)
                      for new, old in zip(tensors, flatten(weights.trainable)[0])])
    return tff.learning.models.ModelWeights(trainable=trainable,
                                            non_trainable=weights.non_trainable)

  @tff.federated_computation(init_fn.type_signature.result,
                             tff.FederatedType(weights_type, tff.SERVER),
                             tff.FederatedType(update_type, tff.SERVER))
  def next_fn(state, weights, average):
    return tff.templates.MeasuredProcessOutput(
        state, tff.federated_map(adopt, (weights, average)),
        tff.federated_value((), tff.SERVER))

  return tff.learning.templates.FinalizerProcess(init_fn, next_fn)
