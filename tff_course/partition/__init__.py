"""Splitting a dataset into federated clients: client id -> example indices.

Every partitioner is a pure function of the labels and a seed; the same seed gives
the same partition.
"""

from tff_course.partition.by_name import PARTITIONS, make_partition
from tff_course.partition.classes import n_class_partition
from tff_course.partition.dirichlet import dirichlet_partition
from tff_course.partition.groups import (cifar_noniid_group_test, noniid_group_sampler,
                                         parse_groups, validate_groups)
from tff_course.partition.heatmap import plot_heatmap
from tff_course.partition.iid import iid_sampler
from tff_course.partition.natural import natural_partition
from tff_course.partition.partition import Partition, labels_of
from tff_course.partition.shards import shard_partition
from tff_course.partition.summary import PartitionSummary, summarize
from tff_course.partition.validation import stratified_split

__all__ = [
    "PARTITIONS", "Partition", "PartitionSummary", "cifar_noniid_group_test", "dirichlet_partition",
    "iid_sampler", "labels_of", "make_partition", "n_class_partition", "natural_partition",
    "noniid_group_sampler", "parse_groups", "plot_heatmap", "shard_partition",
    "stratified_split", "summarize", "validate_groups",
]
