"""From-scratch federated learning in NumPy: an MLP, mini-batch SGD and FedAvg."""

from tff_course.scratch.fedavg import fedavg_round
from tff_course.scratch.iterations import fedavg_iterations, sgd_iterations
from tff_course.scratch.mlp import (accuracy, forward, init_mlp, linear_backward,
                                    linear_forward, loss_and_gradients,
                                    softmax_cross_entropy)
from tff_course.scratch.sgd import batches, sgd

__all__ = ["accuracy", "batches", "fedavg_iterations", "fedavg_round", "forward", "init_mlp",
           "linear_backward", "linear_forward", "loss_and_gradients", "sgd",
           "sgd_iterations", "softmax_cross_entropy"]
