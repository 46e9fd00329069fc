"""Composing a learning process from its four parts, as `tff.learning` composes its own:
a broadcast distributor, a client work, an aggregator of client updates and a
finalizer that turns the aggregate into the next server model. The aggregator drops
non-finite client updates (tff_course.aggregators.finite)."""

from __future__ import annotations

from typing import Callable, Optional

import numpy as np

from tff_course.algorithms.client_work import model_types


def compose(model_fn: Callable, client_work, finalizer_for: Callable,
            model_aggregator: Optional[object] = None, num_groups: Optional[int] = None,
            statistics: bool = False):
  """A LearningProcess.

  Args:
    model_fn: returns a fresh `tff.learning.models.VariableModel`.
    client_work: a ClientWorkProcess whose updates have the trainable weights' type.
    finalizer_for: weights type -> FinalizerProcess.
    model_aggregator: a weighted `tff.aggregators` factory (default: weighted mean),
      behind `DropNonFiniteFactory`.
    num_groups: the client work sends float32[num_groups] weights (see
      build_client_work); the aggregator must take them.
    statistics: client updates are (trainable delta, non-trainable weights), and so is
      the aggregate the finalizer takes.
  """
  from tff_course.aggregators.finite import dropping_non_finite
  from tff_course.runtime.tff_module import tff

  weights_type, _, _ = model_types(model_fn)

  @tff.tensorflow.computation
  def initial_weights():
    return tff.learning.models.ModelWeights.from_model(model_fn())

  update_type = (tff.StructType([weights_type.trainable, weights_type.non_trainable])
                 if statistics else weights_type.trainable)
  aggregator = dropping_non_finite(model_aggregator).create(
      update_type,
      tff.TensorType(np.float32, [num_groups] if num_groups else []))
  return tff.learning.templates.compose_learning_process(
      initial_weights, tff.learning.templates.build_broadcast_process(weights_type),
      client_work, aggregator, finalizer_for(weights_type))


def apply_optimizer(server_optimizer) -> Callable:
  """finalizer_for: the server applies the mean update (w_server - w_client) with
  `server_optimizer`, treating it as a gradient (SGD at lr 1 is plain averaging)."""
  def finalizer_for(weights_type):
    from tff_course.runtime.tff_module import tff

    return tff.learning.templates.build_apply_optimizer_finalizer(server_optimizer,
                                                                   weights_type)
  return finalizer_for
