"""From-scratch Keras pruning for the course's model-compression competition (issue 5).

The reference task (5 CIFAR-10 classes, a 592,958-parameter network), the autograder's
score, `.h5` export checked against the reference architecture, pruning methods that
share one interface (`method(model, data, target_sparsity) -> PruneResult`), and the
accuracy-sparsity frontier with tfmot's `prune_low_magnitude` as a reference line.
Modules import TensorFlow only when they need it.
"""

from pruning.score import Score, competition_score, count_zeros

__all__ = ["Score", "competition_score", "count_zeros"]
