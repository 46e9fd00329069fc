"""FedSGD in its two forms, as TFF learning processes.

McMahan et al. (2017) describe FedSGD as each selected client computing the gradient
g_k of its loss on all its data at the current model w, and the server stepping
w <- w - lr * sum_k n_k g_k / n. Equivalently each client takes that step itself,
w_k = w - lr * g_k, and the server averages the w_k weighted by n_k. The gradient
form is TFF's `build_fed_sgd`; the weight form composes its own client work (one
full-batch step, send the weights) with a finalizer that adopts the average. The two
agree up to floating-point rounding; they part ways as soon as a client takes more
than one step (B < all, or E > 1), which is FedAvg.
"""

from __future__ import annotations

import enum
from typing import Callable, Optional

from tff_course.algorithms.client_work import all_finite, build_client_work, load_weights
from tff_course.algorithms.compose import compose
from tff_course.errors import ConfigError


class FedSgdForm(enum.Enum):
  GRADIENT = "gradient"
  WEIGHTS = "weights"


def build_fedsgd(model_fn: Callable, *, learning_rate: float, form: str = "gradient",
                 model_aggregator=None, num_groups: Optional[int] = None):
  """A FedSGD learning process.

  Args:
    model_fn: returns a fresh `tff.learning.models.VariableModel`.
    learning_rate: the SGD step size, > 0.
    form: "gradient" (clients send gradients, the server steps) or "weights" (clients
      step, the server averages weights).
    model_aggregator: a weighted `tff.aggregators` factory (default: weighted mean).
    num_groups: weight form only: clients' data carry their group and their weights
      are per-group vectors for a group-aware aggregator (see build_client_work).

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
  if form is FedSgdForm.GRADIENT:
    if num_groups:
      raise ConfigError("num_groups: FedSGD's gradient form is TFF's build_fed_sgd, which "
                        "sends scalar weights; use form='weights' with a group-aware "
                        "aggregator")
    return tff.learning.algorithms.build_fed_sgd(
        model_fn, server_optimizer_fn=tff.learning.optimizers.build_sgdm(learning_rate),
        model_aggregator=model_aggregator)
  return compose(model_fn, build_client_work(model_fn, _one_step(learning_rate),
                                             num_groups=num_groups),
                 _adopt_average_finalizer, model_aggregator, num_groups)


def _one_step(learning_rate: float) -> Callable:
  """The client step of the weight form: w_k = w - lr * (mean gradient over all data)."""
  import tensorflow as tf

  from tff_course.runtime.tff_module import tff

  def client_step(model, initial_weights, dataset, rate):
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
    sums, count = dataset.reduce((zeros, tf.constant(0.0)), accumulate)
    stepped = [w - learning_rate * s / count
               for w, s in zip(initial_weights.trainable, sums)]
    result = tff.learning.templates.ClientResult(
        update=stepped, update_weight=tf.where(all_finite(stepped), count, 0.0))
    return result, model.report_local_unfinalized_metrics()

  return client_step


def _adopt_average_finalizer(weights_type):
  from tff_course.runtime.tff_module import tff

  update_type = weights_type.trainable

  @tff.federated_computation
  def init_fn():
    return tff.federated_value((), tff.SERVER)

  @tff.tensorflow.computation(weights_type, update_type)
  def adopt(weights, average):
    return tff.learning.models.ModelWeights(trainable=average,
                                            non_trainable=weights.non_trainable)

  @tff.federated_computation(init_fn.type_signature.result,
                             tff.FederatedType(weights_type, tff.SERVER),
                             tff.FederatedType(update_type, tff.SERVER))
  def next_fn(state, weights, average):
    return tff.templates.MeasuredProcessOutput(
        state, tff.federated_map(adopt, (weights, average)),
        tff.federated_value((), tff.SERVER))

  return tff.learning.templates.FinalizerProcess(init_fn, next_fn)
