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
from typing import Any, Dict, Iterable, Mapping, Optional, Tuple

from tff_course.errors import ConfigError

FORMAT_VERSION = 1
ALGORITHMS = ("fedavg", "fedprox", "fedsgd", "centralized")
LR_SCHEDULES = ("constant", "cosine")
AGGREGATORS = ("mean", "quantized", "group_mean", "median", "trimmed_mean", "krum")
ROUNDINGS = ("stochastic", "deterministic")


@dataclasses.dataclass(frozen=True)
class DataConfig:
  """Which data and how it is split into clients (see tff_course.partition)."""

  dataset: str = "synthetic"
  data_dir: Optional[str] = None
  options: Mapping[str, Any] = dataclasses.field(default_factory=dict)
  limit: Optional[int] = None
  partition: str = "natural"
  num_clients: int = 100
  samples_per_client: Optional[int] = None
  shards_per_client: int = 2
  classes_per_client: Optional[int] = None
  alpha: Optional[float] = None
  min_size: int = 1
  groups: Optional[Mapping[int, Tuple[int, ...]]] = None


@dataclasses.dataclass(frozen=True)
class TrainConfig:
  """The model, the algorithm and how rounds run.

  Attributes:
    model: a name from tff_course.models, e.g. "mlp" (one hidden layer of 64 ReLU).
    algorithm: fedavg, fedprox (with mu), fedsgd (with fedsgd_form), or centralized:
      the baseline that trains one Keras model on the union of the partition's
      clients, one epoch per round (all the data, or, with a one-client partition,
      a single device's share).
    client_lr: local SGD learning rate (FedSGD: the server step; centralized: the
      peak learning rate).
    client_momentum: SGD momentum of local steps (centralized: of the optimizer).
    lr_schedule, warmup_rounds: "constant", or "cosine" annealing of the client (or
      centralized) learning rate to 0 over the rounds, after a linear warmup of
      `warmup_rounds` rounds (FedAvg and FedProx; FedSGD keeps a constant rate).
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
    client_slots: with aggregator "mean", the sampled clients train in this many TFF
      client calls, each running its share one after another and sending their
      weighted mean update (the same mean up to rounding; see
      tff_course.algorithms.packed); 0 makes one call per client, as TFF does. Other
      aggregators need every client's update and always make one call per client.
  """

  model: str = "mlp"
  algorithm: str = "fedavg"
  fedsgd_form: str = "gradient"
  client_lr: float = 0.05
  client_momentum: Optional[float] = None
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
  devices_per_group: Optional[Mapping[int, int]] = None
  eval_every: int = 1
  checkpoint_every: int = 5
  seed: int = 0
  client_slots: int = 2


@dataclasses.dataclass(frozen=True)
class ExperimentConfig:
  """A whole experiment."""

  name: str = "experiment"
  data: DataConfig = dataclasses.field(default_factory=DataConfig)
  train: TrainConfig = dataclasses.field(default_factory=TrainConfig)
  format_version: int = FORMAT_VERSION

  def __post_init__(self):
    validate(self)

  def to_dict(self) -> Dict[str, Any]:
    return json.loads(json.dumps(dataclasses.asdict(self)))

  def to_json(self) -> str:
    return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"

  def with_overrides(self, overrides: Iterable[str]) -> "ExperimentConfig":
    """Applies "section.field=value" strings (values parsed as JSON, else strings)."""
    raw = self.to_dict()
    for override in overrides:
      path, sep, text = override.partition("=")
      keys = path.strip().split(".")
      if not sep or len(keys) != 2 or keys[0] not in ("data", "train"):
        raise ConfigError(f"override: got {override!r}, expected SECTION.FIELD=VALUE with "
                          f"SECTION data or train, e.g. train.rounds=20")
      section = raw[keys[0]]
      if keys[1] not in section:
        raise ConfigError(f"override: {keys[0]} has no field {keys[1]!r}; fields: "
                          f"{', '.join(sorted(section))}")
      section[keys[1]] = _parse_value(text.strip())
    return from_dict(raw)


def from_dict(raw: Mapping[str, Any]) -> ExperimentConfig:
  """Builds a config from plain values, rejecting unknown fields and newer formats."""
  version = raw.get("format_version", FORMAT_VERSION)
  if not isinstance(version, int) or version > FORMAT_VERSION:
    raise ConfigError(
        f"format_version: got {version!r}; this tff-course reads configs up to version "
        f"{FORMAT_VERSION}; the config was written by a newer version: upgrade tff-course")
  unknown = set(raw) - {"name", "data", "train", "format_version"}
  if unknown:
    raise ConfigError(f"config: unknown section {sorted(unknown)[0]!r}; expected name, "
                      f"data, train")
  data = _section(DataConfig, raw.get("data", {}), "data")
  train = _section(TrainConfig, raw.get("train", {}), "train")
  if data.groups is not None:
    data = dataclasses.replace(data, groups={int(k): tuple(v) for k, v in data.groups.items()})
  if train.devices_per_group is not None:
    train = dataclasses.replace(
        train, devices_per_group={int(k): int(v) for k, v in train.devices_per_group.items()})
  return ExperimentConfig(name=raw.get("name", "experiment"), data=data, train=train,
                          format_version=FORMAT_VERSION)


def load_config(path: str) -> ExperimentConfig:
  """Reads a JSON config file."""
  if not os.path.isfile(path):
    raise ConfigError(f"config: {path} is not a file")
  try:
    with open(path, encoding="utf-8") as stream:
      raw = json.load(stream)
  except json.JSONDecodeError as error:
    raise ConfigError(f"config: {path} is not valid JSON ({error})") from None
  if not isinstance(raw, dict):
    raise ConfigError(f"config: {path} must hold a JSON object")
  return from_dict(raw)


def validate(config: ExperimentConfig) -> None:
  """Raises ConfigError naming the first field whose value cannot work."""
  for name, section in (("data", config.data), ("train", config.train)):
    hints = typing.get_type_hints(type(section))
    for field in dataclasses.fields(section):
      _check_type(f"{name}.{field.name}", getattr(section, field.name), hints[field.name])
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
  if train.algorithm == "fedprox" and not train.mu > 0:
    raise ConfigError(f"train.mu: got {train.mu}, FedProx needs mu > 0")


def _section(cls, raw: Mapping[str, Any], name: str):
  if not isinstance(raw, Mapping):
    raise ConfigError(f"{name}: expected an object of fields, got {type(raw).__name__}")
  fields = {f.name for f in dataclasses.fields(cls)}
  unknown = sorted(set(raw) - fields)
  if unknown:
    raise ConfigError(f"{name}.{unknown[0]}: unknown field; {name} has "
                      f"{', '.join(sorted(fields))}")
  return cls(**raw)


_SCALAR_TYPES = {int: "a whole number", float: "a number", str: "a string"}


def _check_type(name: str, value, annotation) -> None:
  """ConfigError when `value` is not of a scalar field's type (int, float, str, or
  Optional of one); structured fields are left to `validate`."""
  optional = typing.get_origin(annotation) is typing.Union and type(None) in typing.get_args(
      annotation)
  scalar = typing.get_args(annotation)[0] if optional else annotation
  if scalar not in _SCALAR_TYPES or (optional and value is None):
    return
  accepted = (int, float) if scalar is float else (scalar,)
  if isinstance(value, bool) or not isinstance(value, accepted):
    expected = _SCALAR_TYPES[scalar] + (" or null" if optional else "")
    raise ConfigError(f"{name}: got {value!r}, expected {expected}")


def _parse_value(text: str):
  try:
    return json.loads(text)
  except json.JSONDecodeError:
    return text
