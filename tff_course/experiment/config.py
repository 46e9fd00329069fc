"""An experiment's configuration: typed, frozen, validated, saved with every run.

One experiment = data (dataset and partition) + training (model, algorithm, local
work, sampling, rounds, evaluation, seeds). A config is read from and written to
JSON; `with_overrides(["train.rounds=20", ...])` applies command-line overrides.
"""

from __future__ import annotations

import dataclasses
import json
import os
import typing
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple

from tff_course.algorithms.scaffold_options import OPTIONS as SCAFFOLD_OPTIONS
from tff_course.algorithms.schedule_names import SCHEDULES
from tff_course.errors import ConfigError
from tff_course.field_types import typed
from tff_course.key_value import parse_key_value
from tff_course.runtime.worker_set import worker_set

FORMAT_VERSION = 1
ALGORITHMS = ("fedavg", "fedprox", "fedsgd", "centralized", "sparse_fedavg", "scaffold",
              "ditto", "fedper", "fedbn")
CLIENT_STATE_ALGORITHMS = {"scaffold": "SCAFFOLD", "ditto": "Ditto", "fedper": "FedPer",
                           "fedbn": "FedBN"}
LR_SCHEDULES = SCHEDULES
AGGREGATORS = ("mean", "quantized", "group_mean", "median", "trimmed_mean", "krum")
ROUNDINGS = ("stochastic", "deterministic")
CLIENT_OPTIMIZERS = ("sgd", "adam")
OVERRIDE_FORM = "SECTION.FIELD=VALUE with SECTION data or train, e.g. train.rounds=20"


@dataclasses.dataclass(frozen=True)
class DataConfig:
  """Which data and how it is split into clients (see tff_course.partition)."""

  dataset: str = "synthetic"
  data_dir: Optional[str] = None
  options: Mapping[str, Any] = dataclasses.field(
      default_factory=dict,
      metadata={"expected": 'an object of option: value, e.g. {"alpha": 0.5}'})
  limit: Optional[int] = None
  partition: str = "natural"
  num_clients: int = 100
  samples_per_client: Optional[int] = None
  shards_per_client: int = 2
  classes_per_client: Optional[int] = None
  alpha: Optional[float] = None
  min_size: int = 1
  groups: Optional[Mapping[int, Tuple[int, ...]]] = dataclasses.field(
      default=None, metadata={"expected": 'an object of group: list of classes, e.g. '
                                          '{"0": [0, 1], "1": [2, 3]}, or null'})
  client_holdout: float = 0.0


@dataclasses.dataclass(frozen=True)
class TrainConfig:
  """The model, the algorithm and how rounds run.

  Attributes:
    model: a name from tff_course.models, e.g. "mlp" (one hidden layer of 64 ReLU).
    algorithm: fedavg, fedprox (with mu), fedsgd (with fedsgd_form), centralized: the
      baseline that trains one Keras model on the union of the partition's clients,
      one epoch per round (with train.steps, that many batches per round) (all the
      data, or, with a one-client partition, a single device's share), sparse_fedavg:
      FedAvg whose clients fine-tune with SparseSGDM under `masks` (tff_course.sparse),
      the model in inference mode, or scaffold
      (Karimireddy et al. 2020: local SGD corrected by control variates that every
      client keeps across rounds in run_dir/client-states; server_lr is the global step),
      or ditto (Li et al. 2021: FedAvg's global model, and a personal model per client,
      kept in run_dir/client-states, trained with ditto_lambda's pull to the global one),
      fedper (Arivazhagan et al. 2019: the last fedper_head_layers layers stay with each
      client) or fedbn (Li et al. 2021: batch-normalization layers stay with each client).
    scaffold_option: "I" (a client's control is its gradient at the server model) or
      "II" (from the model change it made; the paper's cheaper default).
    ditto_lambda: Ditto's lambda >= 0 (0: personal models train alone).
    fedper_head_layers: FedPer's personal head, in layers with weights (>= 1).
    average_statistics: FedAvg and FedProx with a model that has non-trainable weights
      (batch-norm moving statistics): clients send theirs and the server takes their
      example-weighted mean; false leaves the server's as initialized, as TFF does.
    selection, selection_probabilities, selection_alpha, selection_weights,
      power_of_choice: how the round's clients are chosen (FedAvg and FedProx; see
      tff_course.experiment.client_choice): "uniform" (K distinct clients), or K draws
      with replacement with probabilities proportional to "size", "given" (one per
      client), or drawn once from "dirichlet"(selection_alpha); updates weighted by
      "examples" or "unbiased" (p_k / (K q_k), summed); power_of_choice d: of d
      candidates, the K of highest local loss train.
    client_lr: local SGD learning rate (FedSGD: the server step; centralized: the
      peak learning rate).
    client_momentum: SGD momentum of local steps (centralized: of the optimizer).
    client_optimizer: "sgd" (with client_momentum, SGDM) or "adam" (FedAvg, FedProx and
      centralized): local Adam whose moments start from zero on every client each
      round, as TFF's client work builds them.
    lr_schedule, warmup_rounds: "constant"; "cosine" annealing of the client (or
      centralized) learning rate to 0 over the rounds, after a linear warmup of
      `warmup_rounds` rounds; or "step": divided by 10 at 50 % and 75 % of the rounds
      (FedAvg and FedProx; FedSGD keeps a constant rate).
    server_optimizer, server_lr, server_momentum: how the server applies the mean
      update (sgd with lr 1 is plain averaging).
    mu: FedProx's proximal strength.
    aggregator: how the server combines client updates: "mean" (weighted by examples),
      "quantized" (updates quantized to `quant_bits` bits with `quant_rounding`
      "stochastic" or "deterministic"), "group_mean" (every group of a group
      partition weighs the same, whatever its number of sampled clients), or a robust
      mean: "median", "trimmed_mean"
      (dropping `trim_fraction` of the clients at each end per coordinate), "krum"
      (with `byzantine` faulty clients tolerated).
    epochs, steps, batch_size: local work (E or J, and B; batch_size None = all).
    rounds: communication rounds.
    client_fraction: C, devices per round as a fraction; or devices_per_group.
    devices_per_group: per-group counts for group partitions (fair or unfair).
    eval_every: evaluate on the test split every k rounds (and at the last).
    checkpoint_every: save the state every k rounds (and at the last).
    seed: the run's seed.
    init_weights: a Keras weights file (.weights.h5) of `model` to start from, such as a
      pre-trained backbone with a fitted head; null draws the start from the seed.
    masks: sparse_fedavg's masks file (.npz of 0/1 arrays by variable, 1: may be
      updated; see tff_course.sparse.mask_set). With centralized, masks or init_weights
      make it fine-tuning: SparseSGDM under the masks, the model in inference mode.
    client_weight_decay: sparse_fedavg: the clients' L2 weight decay (PyTorch's SGD).
    sparse_upload: sparse_fedavg: clients send only the entries the masks open (false:
      whole tensors); the bytes_up column counts what they send.
    client_slots: with aggregator "mean", the sampled clients train in this many TFF
      client calls, each running its share one after another and sending their
      weighted mean update (the same mean up to rounding; see
      tff_course.algorithms.packed); 0 makes one call per client, as TFF does. Other
      aggregators need every client's update and always make one call per client.
    workers: the TFF workers a round runs on: a whole number of local worker processes
      this program starts and stops, or "HOST:PORT,HOST:PORT" of running `tff-course
      worker`s. With more than one, each takes a share of the round's clients and the
      driver merges their aggregates (group_mean cannot be merged and is refused).
  """

  model: str = "mlp"
  algorithm: str = "fedavg"
  fedsgd_form: str = "gradient"
  client_lr: float = 0.05
  client_momentum: Optional[float] = None
  client_optimizer: str = "sgd"
  lr_schedule: str = "constant"
  warmup_rounds: int = 0
  server_optimizer: str = "sgd"
  server_lr: float = 1.0
  server_momentum: Optional[float] = None
  mu: float = 0.0
  aggregator: str = "mean"
  quant_bits: int = 8
  quant_rounding: str = "stochastic"
  trim_fraction: float = 0.1
  byzantine: int = 0
  epochs: Optional[int] = 1
  steps: Optional[int] = None
  batch_size: Optional[int] = 10
  rounds: int = 20
  client_fraction: float = 0.1
  devices_per_group: Optional[Mapping[int, int]] = dataclasses.field(
      default=None, metadata={"expected": 'an object of group: whole number of devices, '
                                          'e.g. {"0": 5, "1": 2}, or null'})
  eval_every: int = 1
  checkpoint_every: int = 5
  seed: int = 0
  init_weights: Optional[str] = None
  masks: Optional[str] = None
  client_weight_decay: float = 0.0
  sparse_upload: bool = True
  client_slots: int = 2
  scaffold_option: str = "II"
  ditto_lambda: float = 0.1
  fedper_head_layers: int = 1
  average_statistics: bool = True
  selection: str = "uniform"
  selection_probabilities: Optional[Tuple[float, ...]] = None
  selection_alpha: Optional[float] = None
  selection_weights: str = "examples"
  power_of_choice: Optional[int] = None
  workers: Any = dataclasses.field(
      default=1, metadata={"expected": "a whole number of local workers, or HOST:PORT "
                                       "addresses separated by commas"})


@dataclasses.dataclass(frozen=True)
class ExperimentConfig:
  """A whole experiment."""

  name: str = "experiment"
  data: DataConfig = dataclasses.field(default_factory=DataConfig)
  train: TrainConfig = dataclasses.field(default_factory=TrainConfig)
  format_version: int = FORMAT_VERSION

  def __post_init__(self):
    object.__setattr__(self, "data", _typed_section(self.data, "data"))
    object.__setattr__(self, "train", _typed_section(self.train, "train"))
    validate(self)

  def to_dict(self) -> Dict[str, Any]:
    return json.loads(json.dumps(dataclasses.asdict(self)))

  def to_json(self) -> str:
    return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"

  def with_overrides(self, overrides: Iterable[str]) -> "ExperimentConfig":
    """Applies "section.field=value" strings (values parsed as JSON, else strings).

    A new data.dataset drops the options the new dataset does not take, unless
    data.options is set too (see `dropped_options`).
    """
    raw = self.to_dict()
    given = set()
    for override in overrides:
      path, value = parse_key_value(override, "--set", OVERRIDE_FORM)
      keys = path.split(".")
      if len(keys) != 2 or keys[0] not in ("data", "train"):
        raise ConfigError(f"--set: got {override!r}, expected {OVERRIDE_FORM}")
      section = raw[keys[0]]
      if keys[1] not in section:
        raise ConfigError(f"--set: {keys[0]} has no field {keys[1]!r}; fields: "
                          f"{', '.join(sorted(section))}")
      section[keys[1]] = value
      given.add(path)
    data = raw["data"]
    if data["dataset"] != self.data.dataset and "data.options" not in given:
      data["options"] = _accepted_options(data["dataset"], data["options"])
    return from_dict(raw)


def dropped_options(before: ExperimentConfig, after: ExperimentConfig) -> List[str]:
  """The data options of `before` that `after`, on another dataset, left out."""
  if before.data.dataset == after.data.dataset:
    return []
  return sorted(set(before.data.options) - set(after.data.options))


def from_dict(raw: Mapping[str, Any]) -> ExperimentConfig:
  """Builds a config from plain values, rejecting unknown fields and newer formats."""
  version = raw.get("format_version", FORMAT_VERSION)
  if isinstance(version, bool) or not isinstance(version, int) or version > FORMAT_VERSION:
    raise ConfigError(
        f"format_version: got {version!r}; this tff-course reads configs up to version "
        f"{FORMAT_VERSION}; the config was written by a newer version: upgrade tff-course")
  unknown = set(raw) - {"name", "data", "train", "format_version"}
  if unknown:
    raise ConfigError(f"config: unknown section {sorted(unknown)[0]!r}; expected name, "
                      f"data, train")
  data = _section(DataConfig, raw.get("data", {}), "data")
  train = _section(TrainConfig, raw.get("train", {}), "train")
  return ExperimentConfig(name=raw.get("name", "experiment"), data=data, train=train,
                          format_version=FORMAT_VERSION)


def load_config(path: str) -> ExperimentConfig:
  """Reads a JSON config file."""
  if not os.path.isfile(path):
    raise ConfigError(f"config: {path} is not a file")
  try:
    with open(path, encoding="utf-8") as stream:
      raw = json.load(stream)
  except UnicodeDecodeError as error:
    raise ConfigError(f"config: {path} is not UTF-8 text (byte "
                      f"0x{error.object[error.start]:02x} at offset {error.start}); save it "
                      f"as UTF-8") from None
  except json.JSONDecodeError as error:
    raise ConfigError(f"config: {path} is not valid JSON ({error})") from None
  if not isinstance(raw, dict):
    raise ConfigError(f"config: {path} must hold a JSON object")
  return from_dict(raw)


def validate(config: ExperimentConfig) -> None:
  """Raises ConfigError naming the first field whose value cannot work (the sections'
  fields are of their declared types: see `_typed_section`)."""
  if not isinstance(config.name, str) or not config.name:
    raise ConfigError(f"name: got {config.name!r}, expected a non-empty string")
  train = config.train
  if train.algorithm not in ALGORITHMS:
    raise ConfigError(f"train.algorithm: got {train.algorithm!r}, expected one of "
                      f"{', '.join(ALGORITHMS)}")
  if train.devices_per_group is None and not 0 < train.client_fraction <= 1:
    raise ConfigError(f"train.client_fraction: got {train.client_fraction}, expected a "
                      f"fraction in (0, 1]")
  for name in ("rounds", "eval_every", "checkpoint_every"):
    value = getattr(train, name)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
      raise ConfigError(f"train.{name}: got {value!r}, expected a whole number >= 1")
  workers = worker_set(train.workers)
  if workers.merged and train.aggregator == "group_mean":
    raise ConfigError(f"train.workers: got {train.workers!r}, but aggregator 'group_mean' "
                      "cannot be split across workers (its weights need every group's "
                      "total before any client scales its update); use train.workers=1")
  if isinstance(train.client_slots, bool) or train.client_slots < 0:
    raise ConfigError(f"train.client_slots: got {train.client_slots!r}, expected a whole "
                      f"number >= 0 (0: one TFF call per client)")
  for name in ("client_lr", "server_lr"):
    if not getattr(train, name) > 0:
      raise ConfigError(f"train.{name}: got {getattr(train, name)}, expected a number > 0")
  if train.lr_schedule not in LR_SCHEDULES:
    raise ConfigError(f"train.lr_schedule: got {train.lr_schedule!r}, expected one of "
                      f"{', '.join(LR_SCHEDULES)}")
  if not 0 <= train.warmup_rounds < train.rounds:
    raise ConfigError(f"train.warmup_rounds: got {train.warmup_rounds}, expected 0 to "
                      f"{train.rounds - 1} (fewer than train.rounds)")
  if train.algorithm == "fedsgd" and train.lr_schedule != "constant":
    raise ConfigError(f"train.lr_schedule: got {train.lr_schedule!r}; FedSGD takes a "
                      f"constant rate (its step is the server's)")
  if train.aggregator not in AGGREGATORS:
    raise ConfigError(f"train.aggregator: got {train.aggregator!r}, expected one of "
                      f"{', '.join(AGGREGATORS)}")
  if train.quant_rounding not in ROUNDINGS:
    raise ConfigError(f"train.quant_rounding: got {train.quant_rounding!r}, expected one "
                      f"of {', '.join(ROUNDINGS)}")
  if train.quant_bits not in range(1, 33):
    raise ConfigError(f"train.quant_bits: got {train.quant_bits!r}, expected a whole "
                      f"number of bits from 1 to 32")
  if not 0 <= train.trim_fraction < 0.5:
    raise ConfigError(f"train.trim_fraction: got {train.trim_fraction}, expected a "
                      f"fraction in [0, 0.5)")
  if train.byzantine < 0:
    raise ConfigError(f"train.byzantine: got {train.byzantine!r}, expected a whole number "
                      f">= 0")
  _check_client_optimizer(train)
  if train.algorithm == "fedprox" and not train.mu > 0:
    raise ConfigError(f"train.mu: got {train.mu}, FedProx needs mu > 0")
  _check_sparse(train)
  _check_client_state_algorithms(train)
  _check_selection(train)
  _check_local_work(train)
  _check_devices_per_group(config.data, train)
  _check_dataset(config.data)
  holdout = config.data.client_holdout
  if not 0 <= holdout < 1:
    raise ConfigError(f"data.client_holdout: got {holdout}, expected a fraction in [0, 1) "
                      f"of each client's examples to hold out (0: none)")


def check_byzantine(train: TrainConfig, per_round: int, source: str) -> None:
  """ConfigError unless Krum (with train.byzantine = f) gets n >= 2f + 3 clients per
  round (its condition); `source` says where the run's n comes from."""
  needed = 2 * train.byzantine + 3
  if train.aggregator != "krum" or per_round >= needed:
    return
  fits = (f"expected at most {(per_round - 3) // 2}" if per_round >= 3 else
          "expected 3 clients per round or more, even with f = 0")
  raise ConfigError(f"train.byzantine: got {train.byzantine}, but Krum needs at least 2f + 3 "
                    f"= {needed} clients per round and {source}; {fits}")


def _check_client_optimizer(train: TrainConfig) -> None:
  if train.client_optimizer not in CLIENT_OPTIMIZERS:
    raise ConfigError(f"train.client_optimizer: got {train.client_optimizer!r}, expected "
                      f"one of {', '.join(CLIENT_OPTIMIZERS)}")
  if train.client_optimizer == "sgd":
    return
  if (train.algorithm in ("fedsgd", "sparse_fedavg", *CLIENT_STATE_ALGORITHMS) or
      train.masks or
      train.init_weights):
    raise ConfigError(f"train.client_optimizer: got 'adam', but {train.algorithm} "
                      f"{'fine-tuning ' if train.masks or train.init_weights else ''}takes "
                      f"'sgd'; expected 'sgd' or algorithm fedavg, fedprox or centralized")
  if train.client_momentum is not None:
    raise ConfigError(f"train.client_momentum: got {train.client_momentum}, but it is SGD's; "
                      f"expected null with train.client_optimizer 'adam'")


def _check_sparse(train: TrainConfig) -> None:
  sparse = train.algorithm == "sparse_fedavg"
  if sparse and not train.masks:
    raise ConfigError("train.masks: got null, expected a masks file (.npz) for "
                      "sparse_fedavg; `tff-course sparse prepare` writes one")
  if train.masks and train.algorithm not in ("sparse_fedavg", "centralized"):
    raise ConfigError(f"train.masks: got {train.masks!r}, but masks are for sparse_fedavg "
                      f"and centralized fine-tuning; expected null with train.algorithm "
                      f"{train.algorithm!r}")
  if sparse and train.aggregator != "mean":
    raise ConfigError(f"train.aggregator: got {train.aggregator!r}, expected 'mean' for "
                      f"sparse_fedavg (it averages the masked entries itself)")
  if not train.client_weight_decay >= 0:
    raise ConfigError(f"train.client_weight_decay: got {train.client_weight_decay}, "
                      f"expected a number >= 0")


def _check_client_state_algorithms(train: TrainConfig) -> None:
  if train.scaffold_option not in SCAFFOLD_OPTIONS:
    raise ConfigError(f"train.scaffold_option: got {train.scaffold_option!r}, expected one "
                      f"of {', '.join(SCAFFOLD_OPTIONS)}")
  if not train.ditto_lambda >= 0:
    raise ConfigError(f"train.ditto_lambda: got {train.ditto_lambda}, expected a number >= 0 "
                      f"(0: personal models train alone; larger: closer to the global one)")
  if train.fedper_head_layers < 1:
    raise ConfigError(f"train.fedper_head_layers: got {train.fedper_head_layers}, expected a "
                      f"whole number of layers >= 1")
  name = CLIENT_STATE_ALGORITHMS.get(train.algorithm)
  if name is None:
    return
  for field, plain in (("client_momentum", None), ("lr_schedule", "constant"),
                       ("aggregator", "mean"), ("server_optimizer", "sgd"),
                       ("server_momentum", None), ("masks", None), ("init_weights", None)):
    if getattr(train, field) != plain:
      raise ConfigError(f"train.{field}: got {getattr(train, field)!r}, but {name} takes "
                        f"plain local SGD and averages with server_lr; expected {plain!r}")


def _check_selection(train: TrainConfig) -> None:
  from tff_course.experiment.client_choice import SELECTION_WEIGHTS
  from tff_course.sampling.client_selection import SOURCES

  if train.selection not in SOURCES:
    raise ConfigError(f"train.selection: got {train.selection!r}, expected one of "
                      f"{', '.join(SOURCES)}")
  if train.selection_weights not in SELECTION_WEIGHTS:
    raise ConfigError(f"train.selection_weights: got {train.selection_weights!r}, expected "
                      f"one of {', '.join(SELECTION_WEIGHTS)}")
  if (train.selection_probabilities is None) != (train.selection != "given"):
    raise ConfigError(f"train.selection_probabilities: got {train.selection_probabilities!r} "
                      f"with train.selection {train.selection!r}; expected one probability "
                      f"per client with 'given', null otherwise")
  if (train.selection_alpha is None) != (train.selection != "dirichlet"):
    raise ConfigError(f"train.selection_alpha: got {train.selection_alpha!r} with "
                      f"train.selection {train.selection!r}; expected a number > 0 with "
                      f"'dirichlet', null otherwise")
  if train.selection_alpha is not None and not train.selection_alpha > 0:
    raise ConfigError(f"train.selection_alpha: got {train.selection_alpha}, expected a "
                      f"number > 0")
  chosen = train.power_of_choice
  if chosen is not None and chosen < 1:
    raise ConfigError(f"train.power_of_choice: got {chosen}, expected a whole number of "
                      f"candidates >= the clients per round, or null")
  if chosen is not None and train.selection_weights == "unbiased":
    raise ConfigError("train.selection_weights: got 'unbiased' with train.power_of_choice, "
                      "but clients kept for their loss have no unbiased weights; expected "
                      "'examples'")
  special = (train.selection != "uniform" or train.selection_weights != "examples" or
             chosen is not None)
  if special and (train.algorithm not in ("fedavg", "fedprox") or
                  train.devices_per_group is not None):
    raise ConfigError(f"train.selection: non-uniform selection, unbiased weights and "
                      f"power-of-choice are for fedavg and fedprox without "
                      f"devices_per_group; got algorithm {train.algorithm!r}")
  if train.selection_weights == "unbiased" and train.aggregator != "mean":
    raise ConfigError(f"train.aggregator: got {train.aggregator!r}, but unbiased selection "
                      f"weights are summed by their own aggregator; expected 'mean'")


def _check_local_work(train: TrainConfig) -> None:
  if (train.epochs is None) == (train.steps is None):
    raise ConfigError(f"train.steps: got {train.steps!r} with train.epochs {train.epochs!r}; "
                      f"expected exactly one of them, the other null")
  for name in ("epochs", "steps", "batch_size"):
    value = getattr(train, name)
    if value is not None and value < 1:
      raise ConfigError(f"train.{name}: got {value}, expected a whole number >= 1 or null")


def _check_devices_per_group(data: DataConfig, train: TrainConfig) -> None:
  counts = train.devices_per_group
  if counts is None:
    return
  if data.partition != "groups":
    raise ConfigError(f"train.devices_per_group: got {counts}, but data.partition is "
                      f"{data.partition!r}; expected it with data.partition groups (or null)")
  if any(count < 0 for count in counts.values()) or not sum(counts.values()):
    raise ConfigError(f"train.devices_per_group: got {counts}, expected counts >= 0, not "
                      f"all 0")
  if data.groups is not None and set(counts) != set(data.groups):
    raise ConfigError(f"train.devices_per_group: got {counts}, expected a count for each "
                      f"group of data.groups ({', '.join(map(str, sorted(data.groups)))})")
  check_byzantine(train, sum(counts.values()),
                  f"train.devices_per_group gives {sum(counts.values())}")


def _check_dataset(data: DataConfig) -> None:
  from tff_course.data.registry import check_dataset_options, dataset_info

  dataset_info(data.dataset)
  try:
    check_dataset_options(data.dataset, data.options)
  except ConfigError as error:
    raise ConfigError(f"data.options: {error}") from None


def _accepted_options(dataset: str, options: Mapping[str, Any]) -> Dict[str, Any]:
  from tff_course.data.registry import dataset_options

  accepted = dataset_options(dataset)
  return {key: value for key, value in options.items() if key in accepted}


def _section(cls, raw: Mapping[str, Any], name: str):
  if not isinstance(raw, Mapping):
    raise ConfigError(f"{name}: expected an object of fields, got {type(raw).__name__}")
  fields = {f.name for f in dataclasses.fields(cls)}
  unknown = sorted(set(raw) - fields)
  if unknown:
    raise ConfigError(f"{name}.{unknown[0]}: unknown field; {name} has "
                      f"{', '.join(sorted(fields))}")
  return cls(**raw)


def _typed_section(section, name: str):
  """The section with every field converted to its declared type (JSON's string keys
  and lists accepted), or ConfigError naming the first field that is not."""
  hints = typing.get_type_hints(type(section))
  return dataclasses.replace(section, **{
      field.name: typed(f"{name}.{field.name}", getattr(section, field.name),
                        hints[field.name], field.metadata.get("expected"))
      for field in dataclasses.fields(section)})
