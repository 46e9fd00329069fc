"""An arm of a course experiment: one labelled run, a TFF config or a function that runs
it outside the federated runner (NumPy, distributed jobs)."""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Dict, Mapping, Optional, Sequence

from tff_course.errors import ConfigError
from tff_course.experiment.config import ExperimentConfig

OUTSIDE_OVERRIDES = {"data.dataset": "dataset", "data.limit": "limit"}
OutsideRun = Callable[[Mapping[str, Any], str, Optional[str]], Dict[str, float]]


@dataclasses.dataclass(frozen=True)
class Arm:
  """One run of a course experiment, written to RUN_DIR/key.

  Attributes:
    key: the run's subdirectory name, unique in the experiment.
    label: how tables and legends name it.
    config: the run's config, for runs of the federated runner.
    settings, run_outside: for runs outside the federated runner (NumPy, distributed
      jobs): `run_outside(settings, run_dir, data_dir)` writes the run's config.json (the
      settings) and, last, its metrics.csv, and returns its last metrics. The settings
      name the "dataset" and "seed" (and may give "limit" and "dataset_options").
    rounds_per_round: how many of this arm's rounds match one round of the experiment
      under --rounds (a centralized baseline runs E epochs per FedAvg round of E).
    preparation: the pre-trained start and masks the run fine-tunes from
      (tff_course.course.preparation), prepared before the runs.
  """

  key: str
  label: str
  config: Optional[ExperimentConfig] = None
  settings: Mapping[str, Any] = dataclasses.field(default_factory=dict)
  run_outside: Optional[OutsideRun] = None
  rounds_per_round: int = 1
  preparation: Optional[Any] = None

  def __post_init__(self):
    if (self.config is None) == (self.run_outside is None):
      raise ValueError(f"arm {self.key!r}: give either a config or a run_outside function")

  def with_changes(self, overrides: Sequence[str], rounds: Optional[int]) -> "Arm":
    """The arm with command-line overrides ("section.field=value") and a round count
    (a learning-rate warm-up longer than the rounds is cut to fit them)."""
    if self.config is None:
      settings = {**self.settings, **self._outside_overrides(overrides)}
      if rounds is not None:
        settings["rounds"] = rounds
      return dataclasses.replace(self, settings=settings)
    changes = list(overrides)
    if rounds is not None:
      total = rounds * self.rounds_per_round
      changes += [f"train.rounds={total}",
                  f"train.warmup_rounds={min(self.config.train.warmup_rounds, total - 1)}"]
    return dataclasses.replace(self, config=self.config.with_overrides(changes))

  @property
  def rounds(self) -> int:
    """The arm's number of rounds (epochs for a centralized run)."""
    return self.config.train.rounds if self.config is not None else self.settings["rounds"]

  def description(self) -> Dict[str, Any]:
    """What the arm runs, as plain values (saved in experiment.json)."""
    if self.config is not None:
      described = {"label": self.label, "config": self.config.to_dict()}
      if self.preparation is not None:
        described["preparation"] = self.preparation.description()
      return described
    return {"label": self.label, "numpy": dict(self.settings)}

  def _outside_overrides(self, overrides: Sequence[str]) -> Dict[str, Any]:
    """The settings an arm run outside the federated runner takes from --set: data.dataset
    and data.limit."""
    from tff_course.data.registry import dataset_info
    from tff_course.key_value import parse_key_value

    changes: Dict[str, Any] = {}
    for override in overrides:
      key, value = parse_key_value(override, "--set", "data.dataset=NAME or data.limit=N")
      if key not in OUTSIDE_OVERRIDES:
        raise ConfigError(f"--set: arm {self.key!r} runs outside the federated runner, "
                          f"without a TFF config; of --set only data.dataset and data.limit "
                          f"apply to it (and --rounds), got {key!r}")
      if key == "data.limit" and value is not None and (
          isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise ConfigError(f"--set data.limit: got {value!r}, expected a whole number >= 1 "
                          "or null")
      if key == "data.dataset":
        dataset_info(value)
      changes[OUTSIDE_OVERRIDES[key]] = value
    return changes
