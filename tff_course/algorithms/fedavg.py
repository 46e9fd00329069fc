"""FedAvg and FedProx as TFF learning processes.

McMahan et al., "Communication-Efficient Learning of Deep Networks from Decentralized
Data" (AISTATS 2017): clients run local SGD from the server model, the server averages
their model deltas weighted by examples and applies the average with a server
optimizer (SGD with learning rate 1 is plain averaging; momentum gives FedAvgM; Adam,
Yogi, Adagrad give Reddi et al.'s adaptive federated optimization).
Li et al., "Federated Optimization in Heterogeneous Networks" (MLSys 2020): FedProx
adds (mu / 2) ||w - w_server||^2 to the client objective; FedAvg is FedProx at mu = 0.
Both are composed as TFF composes its own (distributor, client work, aggregator,
finalizer), with the toolkit's proximal client work (mu = 0 for FedAvg), because TFF
0.87's FedProx has the proximal gradient's sign reversed (see proximal.py).
"""

from __future__ import annotations

from typing import Callable, Optional

from tff_course.algorithms.compose import apply_optimizer, compose
from tff_course.algorithms.statistics import apply_optimizer_with_statistics
from tff_course.algorithms.optimizers import check_tff_optimizer
from tff_course.algorithms.proximal import build_proximal_client_work
from tff_course.errors import ConfigError


def build_fedavg(model_fn: Callable, *, client_optimizer, server_optimizer,
                 proximal_mu: float = 0.0, model_aggregator=None,
                 weighted: bool = True, client_learning_rate: Optional[Callable] = None,
                 num_groups: Optional[int] = None,
                 client_batches: Optional[Callable] = None, packed: bool = False,
                 row_weights: bool = False, average_statistics: bool = False):
  """A FedAvg (or, with `proximal_mu` > 0, FedProx) learning process.

  Args:
    model_fn: returns a fresh `tff.learning.models.VariableModel` (see keras_model_fn).
    client_optimizer: a `tff.learning.optimizers.Optimizer` for local steps (see
      build_optimizer; a Keras optimizer is refused with what to pass instead).
    server_optimizer: a `tff.learning.optimizers.Optimizer` applying the mean delta.
    proximal_mu: FedProx's mu >= 0.
    model_aggregator: a weighted `tff.aggregators` factory for the client updates
      (default: TFF's weighted mean).
    weighted: weigh clients by their number of examples (else equally).
    client_learning_rate: round index -> client learning rate (a TensorFlow function,
      see tff_course.algorithms.schedules); default: the client optimizer's own.
    num_groups: clients' data also carry their group, and their update weights are
      per-group vectors for a group-aware `model_aggregator` (GroupMeanFactory).
    client_batches: an int64 client input row -> that client's `TensorBatches`; the
      process then takes sequences of input rows as client data, one client's, or with
      `packed` several clients' (see tff_course.algorithms.packed: only with a plain
      mean `model_aggregator`).
    row_weights: each client's update weight is the one its input row ends with (see
      tff_course.algorithms.row_weight), e.g. 1 / (K p_k) with a weighted-sum aggregator.
    average_statistics: when the model has non-trainable weights (batch-norm moving
      statistics), clients also send theirs after training and the server takes their
      aggregate (as averaging a PyTorch state_dict does); otherwise, as in TFF, the
      server's stay as initialized.
  """
  if not proximal_mu >= 0:
    raise ConfigError(f"proximal_mu: got {proximal_mu}, expected a number >= 0")
  from tff_course.algorithms.client_work import model_types

  statistics = average_statistics and len(model_types(model_fn)[0].non_trainable) > 0
  if statistics and packed:
    raise ValueError("average_statistics: clients packed in slots send one update; expected "
                     "packed=False for a model with non-trainable weights")
  client_optimizer = check_tff_optimizer("client_optimizer", client_optimizer)
  server_optimizer = check_tff_optimizer("server_optimizer", server_optimizer)
  client_work = build_proximal_client_work(model_fn, client_optimizer, proximal_mu,
                                           weighted=weighted,
                                           learning_rate_fn=client_learning_rate,
                                           num_groups=num_groups,
                                           client_batches=client_batches, packed=packed,
                                           row_weights=row_weights, statistics=statistics)
  finalizer = (apply_optimizer_with_statistics if statistics else apply_optimizer)
  return compose(model_fn, client_work, finalizer(server_optimizer), model_aggregator,
                 num_groups, statistics=statistics)
