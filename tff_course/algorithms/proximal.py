"""FedProx client work: local SGD on the loss plus (mu / 2) ||w - w_server||^2.

Li et al., "Federated Optimization in Heterogeneous Networks" (MLSys 2020). The
gradient of the proximal term is mu (w - w_server), which pulls the local model back
towards the server model. TFF 0.87's own FedProx adds mu (w_server - w) instead (see
tensorflow_federated/python/learning/templates/proximal_client_work.py), which pushes
the local model away; this client work has the paper's sign, and is tested against a
NumPy reference.
"""

from __future__ import annotations

from typing import Callable, Optional

import tensorflow as tf

from tff_course.algorithms.client_work import build_client_work, load_weights


def build_proximal_client_work(model_fn: Callable, client_optimizer, mu: float, *,
                               weighted: bool = True,
                               learning_rate_fn: Optional[Callable] = None,
                               num_groups: Optional[int] = None,
                               client_batches: Optional[Callable] = None,
                               packed: bool = False, row_weights: bool = False,
                               statistics: bool = False):
  """Client work of FedProx (FedAvg's when mu = 0): the update is w_server - w_local.

  Args:
    model_fn: returns a fresh `tff.learning.models.VariableModel`.
    client_optimizer: a `tff.learning.optimizers.Optimizer` for local steps.
    mu: proximal strength >= 0.
    weighted: weigh the client's update by its number of examples (else by 1).
    learning_rate_fn: round index -> client learning rate (TensorFlow); overrides the
      optimizer's own rate each round.
    num_groups: clients also receive their group and send per-group weights (see
      build_client_work).
    client_batches, packed: clients hold input rows instead of datasets, and with
      `packed` several clients share a call (see build_client_work).
    row_weights: the update weight is the one the client's input row carries.
    statistics: the update is (w_server - w_local, the local non-trainable weights after
      training), so the server can average batch-norm statistics (see compose).
  """
  from tff_course.runtime.tff_module import tff

  def client_step(model, initial_weights, batches, rate):
    weights = load_weights(model, initial_weights)
    anchor = tuple(tf.nest.flatten(initial_weights.trainable))
    specs = tuple(tf.TensorSpec(v.shape, v.dtype) for v in tf.nest.flatten(weights.trainable))

    def train_on(state, batch):
      examples, optimizer_state = state
      with tf.GradientTape() as tape:
        output = model.forward_pass(batch, training=True)
      current = tuple(tf.nest.flatten(weights.trainable))
      gradients = tape.gradient(output.loss, current,
                                unconnected_gradients=tf.UnconnectedGradients.ZERO)
      if mu:
        gradients = tuple(g + mu * (w - w0) for g, w, w0 in zip(gradients, current, anchor))
      optimizer_state, updated = client_optimizer.next(optimizer_state, current, gradients)
      for variable, value in zip(current, updated):
        variable.assign(value)
      return examples + tf.cast(output.num_examples, tf.int64), optimizer_state

    optimizer_state = client_optimizer.initialize(specs)
    if rate is not None:
      optimizer_state = client_optimizer.set_hparams(optimizer_state, {"learning_rate": rate})
    examples, _ = batches.reduce((tf.constant(0, tf.int64), optimizer_state), train_on)
    update = tf.nest.map_structure(tf.subtract, initial_weights.trainable, weights.trainable)
    if statistics:
      update = (update, tf.nest.map_structure(tf.identity, weights.non_trainable))
    weight = tf.cast(examples, tf.float32) if weighted else tf.constant(1.0)
    result = tff.learning.templates.ClientResult(update=update, update_weight=weight)
    return result, model.report_local_unfinalized_metrics()

  return build_client_work(model_fn, client_step, learning_rate_fn, num_groups,
                           client_batches, packed, row_weights=row_weights)
