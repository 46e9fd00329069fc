"""FedAvg's finalizer when clients also send their non-trainable weights (batch-norm moving
statistics): the server applies its optimizer to the trainable weights, as TFF's
apply-optimizer finalizer does, and takes the aggregated statistics as its own. TFF's own
FedAvg leaves the server's statistics as initialized, so a batch-norm model evaluated in
inference mode normalizes with zero mean and unit variance whatever it learned."""

from __future__ import annotations

from typing import Callable


def apply_optimizer_with_statistics(server_optimizer) -> Callable:
  """finalizer_for: weights type -> FinalizerProcess taking (mean trainable update, mean
  non-trainable weights); non-finite statistics (every client dropped) keep the
  server's."""
  def finalizer_for(weights_type):
    import tensorflow as tf

    from tff_course.aggregators.finite import all_finite
    from tff_course.runtime.tff_module import tff

    inner = tff.learning.templates.build_apply_optimizer_finalizer(server_optimizer,
                                                                   weights_type)
    update_type = tff.StructType([weights_type.trainable, weights_type.non_trainable])

    @tff.tensorflow.computation(weights_type, weights_type.non_trainable)
    def with_statistics(weights, statistics):
      finite = all_finite(tf.nest.flatten(statistics))
      kept = [tf.where(finite, new, old) for new, old in
              zip(tf.nest.flatten(statistics), tf.nest.flatten(weights.non_trainable))]
      return tff.learning.models.ModelWeights(weights.trainable, kept)

    @tff.federated_computation(inner.initialize.type_signature.result,
                               tff.FederatedType(weights_type, tff.SERVER),
                               tff.FederatedType(update_type, tff.SERVER))
    def next_fn(state, weights, update):
      output = inner.next(state, weights, update[0])
      new_weights = tff.federated_map(with_statistics, (output.result, update[1]))
      return tff.templates.MeasuredProcessOutput(output.state, new_weights,
                                                 output.measurements)

    return tff.learning.templates.FinalizerProcess(inner.initialize, next_fn)
  return finalizer_for
