"""Choosing a partitioner by name, as configs and the command line do."""

from __future__ import annotations

from typing import Iterable, Mapping, Optional

from tff_course.data.dataset import Dataset, Split
from tff_course.errors import ConfigError
from tff_course.partition.classes import n_class_partition
from tff_course.partition.dirichlet import dirichlet_partition
from tff_course.partition.groups import noniid_group_sampler
from tff_course.partition.iid import iid_sampler
from tff_course.partition.natural import natural_partition
from tff_course.partition.partition import Partition
from tff_course.partition.shards import shard_partition

PARTITIONS = ("iid", "shards", "classes", "dirichlet", "groups", "natural")


def make_partition(kind: str, data, *, num_clients: Optional[int] = None,
                   samples_per_client: Optional[int] = None, shards_per_client: int = 2,
                   classes_per_client: Optional[int] = None, alpha: Optional[float] = None,
                   min_size: int = 1,
                   groups: Optional[Mapping[int, Iterable[int]]] = None,
                   seed: int = 0) -> Partition:
  """Partitions `data` (a Split, or a Dataset's training split) with the named method.

  Args:
    kind: one of PARTITIONS.
    data: what to partition; "natural" needs client ids in it.
    num_clients: clients, for iid, shards, classes and dirichlet.
    samples_per_client: for iid, classes and groups (required for groups).
    shards_per_client: for shards.
    classes_per_client: for classes (required).
    alpha: for dirichlet (required).
    min_size: for dirichlet.
    groups: group -> classes, for groups (required).
    seed: the same seed gives the same partition.

  Raises:
    ConfigError: unknown kind, or a setting the kind needs is missing.
  """
  def need(name, value):
    if value is None:
      raise ConfigError(f"{kind} partition: {name} is required")
    return value

  if kind == "iid":
    return iid_sampler(data, need("num_clients", num_clients), samples_per_client,
                       seed=seed)
  if kind == "shards":
    return shard_partition(data, need("num_clients", num_clients), shards_per_client,
                           seed=seed)
  if kind == "classes":
    return n_class_partition(data, need("num_clients", num_clients),
                             need("classes_per_client", classes_per_client),
                             samples_per_client, seed=seed)
  if kind == "dirichlet":
    return dirichlet_partition(data, need("num_clients", num_clients), need("alpha", alpha),
                               min_size=min_size, seed=seed)
  if kind == "groups":
    return noniid_group_sampler(data, need("samples_per_client", samples_per_client),
                                need("groups", groups), seed=seed)
  if kind == "natural":
    if not isinstance(data, (Dataset, Split)):
      raise ConfigError("natural partition: got a label array; it needs a Split or Dataset "
                        "that has client ids (e.g. shakespeare, synthetic)")
    return natural_partition(data)
  raise ConfigError(f"partition: got {kind!r}, expected one of {', '.join(PARTITIONS)}")
