"""From a config to the pieces of a federated run: data, devices, model, process."""

from __future__ import annotations

import dataclasses
import functools
import os
from typing import Callable, Dict, List, Optional

import numpy as np

from tff_course.algorithms.local_work import LocalWork
from tff_course.algorithms.packed import pack_inputs
from tff_course.algorithms.row_weight import weight_entry
from tff_course.data import Dataset, load_dataset
from tff_course.data.dataset import Split
from tff_course.data.client_records import ClientRecords
from tff_course.errors import ConfigError, DataError
from tff_course.experiment.client_choice import CandidateLosses, ClientChoice, client_choice
from tff_course.experiment.config import (CLIENT_STATE_ALGORITHMS, ExperimentConfig,
                                          check_byzantine)
from tff_course.partition import Partition, cifar_noniid_group_test, make_partition
from tff_course.partition.holdout import client_split, hold_out
from tff_course.runtime.worker_set import worker_set
from tff_course.sampling import (Device, get_devices_for_round,
                                 get_devices_for_round_GROUP, round_seed)
from tff_course.sampling.device import group_indices


@dataclasses.dataclass
class Federation:
  """Everything a run needs, built once from the config.

  The clients' training data is written once to record files that TFF's worker reads
  (see tff_course.data.client_records); `close` (or leaving a `with` block) deletes them.
  `choice` is the run's non-uniform client selection (None: uniform); `client_test`
  holds each client's held-out examples, tagged with its id (None: no holdout).
  """

  config: ExperimentConfig
  dataset: Dataset
  partition: Partition
  devices: List[Device]
  local_work: LocalWork
  group_test: Optional[Partition]
  build_keras_model: Callable
  records_dir: Optional[str] = None
  choice: Optional[ClientChoice] = None
  client_test: Optional[Split] = None
  _records: Optional[ClientRecords] = dataclasses.field(default=None, repr=False)

  def __post_init__(self):
    self._positions = {device.id: position for position, device in enumerate(self.devices)}

  def sample(self, round_num: int,
             candidate_losses: Optional[CandidateLosses] = None) -> List[Device]:
    """The devices that train in `round_num` (1-based), the same for the same seed (and
    losses); power-of-choice asks `candidate_losses` (positions -> local losses)."""
    train = self.config.train
    seed = round_seed(train.seed, round_num)
    if self.choice is not None:
      return [self.devices[p] for p in self.choice.positions(seed, candidate_losses)]
    if train.devices_per_group is not None:
      return get_devices_for_round_GROUP(self.devices, dict(train.devices_per_group), seed)
    return get_devices_for_round(self.devices, train.client_fraction, seed)

  @property
  def records(self) -> ClientRecords:
    if self._records is None:
      self._records = ClientRecords(self.dataset.train,
                                    {device.id: device.indices for device in self.devices},
                                    self.dataset.modality, directory=self.records_dir)
    return self._records

  @functools.cached_property
  def keras_model(self):
    """One model of the run's architecture, built once: for scoring weights assigned to
    it and for reading its layers (ResNet-20 takes a second to build)."""
    return self.build_keras_model()

  @functools.cached_property
  def group_index(self) -> Optional[Dict[object, int]]:
    """Group label -> index when the aggregator weighs groups (else None)."""
    if self.config.train.aggregator != "group_mean":
      return None
    return group_indices(self.devices)

  def client_input(self, device: Device, round_num: int) -> np.ndarray:
    """What `device` receives in `round_num`: its records, a shuffle seed derived from
    (seed, round, device) and, for a group-aware aggregator, its group index."""
    seed = round_seed(self.config.train.seed * 1_000_003 + self._positions[device.id],
                      round_num)
    records_input = self.records.client_input(device.id, seed)
    if self.group_index is None:
      return records_input
    return np.append(records_input, np.int64(self.group_index[device.group]))

  @property
  def client_slots(self) -> int:
    """How many TFF client calls share a round's clients (0: one call per client); at
    least one per worker."""
    train = self.config.train
    slots = max(train.client_slots, worker_set(train.workers).count)
    return (slots if train.client_slots and train.aggregator == "mean" and
            train.algorithm not in ("sparse_fedavg", *CLIENT_STATE_ALGORITHMS) and
            train.selection_weights != "unbiased" and not self.sends_statistics else 0)

  @functools.cached_property
  def sends_statistics(self) -> bool:
    """Whether clients also send non-trainable weights (FedAvg or FedProx averaging a
    batch-norm model's statistics)."""
    train = self.config.train
    return (train.average_statistics and train.algorithm in ("fedavg", "fedprox") and
            bool(self.keras_model.non_trainable_weights))

  def position(self, device: Device) -> int:
    """The device's index in `devices` (how client-state stores name it)."""
    return self._positions[device.id]

  def client_data(self, chosen: List[Device], round_num: int) -> List[List[np.ndarray]]:
    """What the process's `next` takes for the round's devices: per client call, the
    input rows of the clients it trains."""
    rows = [self.client_input(device, round_num) for device in chosen]
    if self.choice is not None and self.choice.unbiased:
      weights = self.choice.update_weights(np.array([self.position(d) for d in chosen]))
      rows = [np.append(row, weight_entry(weight)) for row, weight in zip(rows, weights)]
    if self.client_slots:
      return pack_inputs(rows, self.client_slots)
    return [[row] for row in rows]

  def batches_fn(self):
    """A TensorFlow function: client input -> the client's `TensorBatches`."""
    from tff_course.algorithms.tensor_batches import batches_fn

    return batches_fn(self.records.read_fn(), self.local_work)

  def client_batches(self, client_input):
    """The client's training stream for `client_input`, eagerly in this process."""
    import tensorflow as tf

    return self.batches_fn()(tf.constant(client_input))

  def element_spec(self):
    """The (inputs, labels) spec of the clients' batches."""
    import tensorflow as tf

    batch = self.client_batches(self.client_input(self.devices[0], 1)).batch(0)
    return tuple(tf.TensorSpec([None, *t.shape[1:]], t.dtype) for t in batch)

  def close(self) -> None:
    if self._records is not None:
      self._records.close()
      self._records = None

  def __enter__(self) -> "Federation":
    return self

  def __exit__(self, *exc) -> None:
    self.close()

def load_config_dataset(config: ExperimentConfig, data_dir: Optional[str] = None):
  """The dataset the config names, loaded as its runs load it."""
  data = config.data
  return load_dataset(data.dataset, data_dir=data_dir or data.data_dir, limit=data.limit,
                      seed=config.train.seed, **dict(data.options))


def build_federation(config: ExperimentConfig, *, data_dir: Optional[str] = None,
                     records_dir: Optional[str] = None,
                     dataset: Optional[Dataset] = None) -> Federation:
  """Loads the data (unless `dataset` is given), partitions it and creates the devices
  the config describes; writes nothing.

  `records_dir` is where the clients' record files go (default: a temporary directory).

  Raises:
    ConfigError: settings the data cannot meet (see `check_classes`, `check_sampling`).
  """
  from tff_course.models import MODEL_BUILDERS, build_model

  data, train = config.data, config.train
  if train.model not in MODEL_BUILDERS:
    raise ConfigError(f"train.model: got {train.model!r}, expected one of "
                      f"{', '.join(MODEL_BUILDERS)}")
  dataset = load_config_dataset(config, data_dir) if dataset is None else dataset
  check_classes(config, dataset)
  partition = make_partition(
      data.partition, dataset.train, num_clients=data.num_clients,
      samples_per_client=data.samples_per_client, shards_per_client=data.shards_per_client,
      classes_per_client=data.classes_per_client, alpha=data.alpha, min_size=data.min_size,
      groups=data.groups, seed=train.seed)
  client_test = None
  if data.client_holdout:
    partition, held = hold_out(partition, data.client_holdout, train.seed)
    client_test = client_split(dataset.train, held)
  groups = partition.groups or {}
  if train.aggregator == "group_mean" and not groups:
    raise ConfigError(f"train.aggregator: 'group_mean' weighs groups of clients, but the "
                      f"{data.partition!r} partition has none; use data.partition=groups "
                      f"with data.groups")
  devices = [Device(id=cid, group=groups.get(cid), indices=indices, dataset=None)
             for cid, indices in partition.items() if len(indices)]
  check_sampling(config, devices)
  choice = client_choice(train, [d.num_examples for d in devices],
                         len(get_devices_for_round(devices, train.client_fraction, seed=0)))
  local_work = (LocalWork(epochs=1, batch_size=None) if train.algorithm == "fedsgd" else
                LocalWork(epochs=train.epochs, steps=train.steps,
                          batch_size=train.batch_size))
  group_test = (cifar_noniid_group_test(dataset, data.groups) if data.groups else None)
  input_shape = dataset.train.x.shape[1:]

  def build_keras_model():
    return build_model(train.model, input_shape, dataset.num_classes)

  return Federation(config=config, dataset=dataset, partition=partition, devices=devices,
                    local_work=local_work, group_test=group_test,
                    build_keras_model=build_keras_model, records_dir=records_dir,
                    choice=choice, client_test=client_test)


def check_classes(config: ExperimentConfig, dataset: Dataset) -> None:
  """ConfigError when data.groups lists a class the dataset does not have."""
  for group, classes in (config.data.groups or {}).items():
    outside = [c for c in classes if not 0 <= c < dataset.num_classes]
    if outside:
      raise ConfigError(f"data.groups: group {group} lists class {outside[0]}, but "
                        f"{dataset.name} has classes 0 to {dataset.num_classes - 1}")


def check_sampling(config: ExperimentConfig, devices: List[Device]) -> None:
  """ConfigError when a round cannot be sampled from `devices` as the config asks:
  more devices asked of a group than it has, or fewer clients per round than Krum
  needs."""
  train = config.train
  if not devices:
    raise ConfigError(f"data.partition: the {config.data.partition!r} partition gave no "
                      f"client any example")
  if train.devices_per_group is not None:
    try:
      get_devices_for_round_GROUP(devices, dict(train.devices_per_group), seed=0)
    except ConfigError as error:
      raise ConfigError(f"train.{error}") from None
    return
  per_round = len(get_devices_for_round(devices, train.client_fraction, seed=0))
  check_byzantine(train, per_round, f"the run samples {per_round} (train.client_fraction "
                                    f"{train.client_fraction:g} of {len(devices)} clients)")


def build_process(federation: Federation):
  """The TFF learning process the config's algorithm names. Its clients receive input
  rows (`Federation.client_input`), read their records where they train and train on
  them as `TensorBatches`."""
  from tff_course.algorithms.model_fn import keras_model_fn

  model_fn = keras_model_fn(federation.build_keras_model, federation.element_spec())
  train = federation.config.train
  if train.algorithm == "scaffold":
    from tff_course.algorithms.scaffold import build_scaffold

    return build_scaffold(model_fn, client_lr=train.client_lr,
                          num_clients=len(federation.devices), server_lr=train.server_lr,
                          option=train.scaffold_option,
                          client_batches=federation.batches_fn())
  if train.algorithm == "ditto":
    from tff_course.algorithms.ditto import build_ditto

    return build_ditto(model_fn, client_lr=train.client_lr, ditto_lambda=train.ditto_lambda,
                       server_lr=train.server_lr, client_batches=federation.batches_fn())
  if train.algorithm in ("fedper", "fedbn"):
    return _partial_personal_process(federation, model_fn)
  return _algorithm_process(federation, model_fn)


def _algorithm_process(federation: Federation, model_fn):
  from tff_course.aggregators.by_name import make_aggregator
  from tff_course.algorithms import build_fedavg, build_fedsgd, build_optimizer, round_schedule

  train = federation.config.train
  groups = federation.group_index
  num_groups = len(groups) if groups is not None else None
  client_batches, packed = federation.batches_fn(), bool(federation.client_slots)
  aggregator = make_aggregator(train)
  client_rate = (None if train.lr_schedule == "constant" else round_schedule(
      train.lr_schedule, train.client_lr, train.rounds, train.warmup_rounds))
  server_optimizer = build_optimizer(train.server_optimizer, train.server_lr,
                                     momentum=train.server_momentum)
  if train.algorithm == "sparse_fedavg":
    return _sparse_process(train, model_fn, federation.keras_model, client_batches,
                           client_rate, server_optimizer)
  if train.algorithm == "fedsgd":
    return build_fedsgd(model_fn, learning_rate=train.client_lr, form=train.fedsgd_form,
                        model_aggregator=aggregator, num_groups=num_groups,
                        client_batches=client_batches, packed=packed)
  return build_fedavg(
      model_fn, client_optimizer=_client_optimizer(train),
      server_optimizer=server_optimizer,
      proximal_mu=train.mu if train.algorithm == "fedprox" else 0.0,
      model_aggregator=aggregator, num_groups=num_groups, client_learning_rate=client_rate,
      client_batches=client_batches, packed=packed,
      row_weights=train.selection_weights == "unbiased",
      average_statistics=train.average_statistics)


def _partial_personal_process(federation: Federation, model_fn):
  from tff_course.algorithms.partial_personal import (build_partial_personal, head_parts,
                                                      normalization_parts)

  train = federation.config.train
  keras_model = federation.keras_model
  try:
    parts = (head_parts(keras_model, train.fedper_head_layers) if train.algorithm == "fedper"
             else normalization_parts(keras_model))
  except ConfigError as error:
    raise ConfigError(f"train.algorithm {train.algorithm!r} with train.model "
                      f"{train.model!r}: {error}") from None
  return build_partial_personal(model_fn, parts, client_lr=train.client_lr,
                                server_lr=train.server_lr,
                                client_batches=federation.batches_fn(),
                                name=CLIENT_STATE_ALGORITHMS[train.algorithm])


def _client_optimizer(train):
  """The clients' optimizer; Adam with Keras' defaults, as the centralized baseline's."""
  from tff_course.algorithms import build_optimizer

  if train.client_optimizer == "adam":
    return build_optimizer("adam", train.client_lr, beta_2=0.999, epsilon=1e-7)
  return build_optimizer("sgdm" if train.client_momentum else "sgd", train.client_lr,
                         momentum=train.client_momentum)


def _sparse_process(train, model_fn, keras_model, client_batches, client_rate,
                    server_optimizer):
  from tff_course.sparse.federated import build_sparse_fedavg, masks_in_order
  from tff_course.sparse.mask_set import load_masks
  from tff_course.sparse.sgdm_step import SGDMSettings

  masks = masks_in_order(keras_model, load_masks(train.masks))
  return build_sparse_fedavg(
      model_fn, masks, client_learning_rate=train.client_lr,
      server_optimizer=server_optimizer,
      sgdm=SGDMSettings(momentum=train.client_momentum or 0.0,
                        weight_decay=train.client_weight_decay),
      sparse_upload=train.sparse_upload, client_learning_rate_fn=client_rate,
      client_batches=client_batches)


def initial_weights(federation: Federation):
  """Model weights drawn from the run's seed (the same seed, the same start)."""
  import tensorflow as tf

  train = federation.config.train
  tf.keras.utils.set_random_seed(train.seed)
  model = federation.build_keras_model()
  if train.init_weights:
    load_keras_weights(model, train.init_weights)
  return keras_model_weights(model)


def load_keras_weights(model, path: str) -> None:
  """Loads `path` (a Keras weights file of `model`'s architecture) into `model`.

  Raises:
    DataError: the file is missing or holds another architecture's weights.
  """
  if not os.path.isfile(path):
    raise DataError(f"train.init_weights: {path!r} is not a file, expected a Keras weights "
                    f"file (.weights.h5) of train.model")
  try:
    model.load_weights(path)
  except (ValueError, OSError) as error:
    raise DataError(f"train.init_weights: {path} does not fit train.model {model.name!r} "
                    f"({str(error).splitlines()[0]})") from None


def keras_model_weights(model):
  """A Keras model's current weights as a tff ModelWeights of NumPy arrays."""
  from tff_course.runtime.tff_module import tff

  return tff.learning.models.ModelWeights(
      trainable=[np.asarray(w) for w in model.trainable_weights],
      non_trainable=[np.asarray(w) for w in model.non_trainable_weights])


def model_bytes(weights) -> int:
  """Bytes of the trainable weights, as sent each way per client."""
  return int(sum(np.asarray(w).nbytes for w in weights.trainable))
