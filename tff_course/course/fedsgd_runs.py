"""The runs of the FedSGD-against-FedAvg experiment (one Setting each) and the numbers
its tables and answers read from them: targets, messages to reach them, differences."""

from __future__ import annotations

import dataclasses
from typing import List, Optional, Tuple

import numpy as np

from tff_course.course import markdown
from tff_course.course.questions import difference_standard_error
from tff_course.course.results import Results
from tff_course.experiment.config import DataConfig, ExperimentConfig, TrainConfig

MNIST_EXAMPLES = 60000
FEDAVG_LR = 0.05
FEDSGD_LR = 0.1
BATCH_SIZE = 10
NAMES = {"fedsgd": "FedSGD", "fedavg": "FedAvg"}


@dataclasses.dataclass(frozen=True)
class Setting:
  """One cell of the comparison: algorithm, N clients, fraction C, epochs E, data, lr,
  batch size B (FedSGD: always all), seed and, where it is compared, FedSGD's form."""

  algorithm: str
  clients: int = 100
  fraction: float = 0.1
  epochs: int = 1
  iid: bool = True
  lr: float = 0.0
  batch_size: Optional[int] = BATCH_SIZE
  seed: int = 0
  form: Optional[str] = None

  @property
  def key(self) -> str:
    extras = ([f"b{self.batch_size or 'all'}"] if self.local_batch_differs else []) + \
        ([f"seed{self.seed}"] if self.seed else []) + ([self.form] if self.form else [])
    return (f"{self.algorithm}-n{self.clients}-c{self.fraction:g}-e{self.epochs}-"
            f"{'iid' if self.iid else 'noniid'}-lr{self.learning_rate:g}"
            + "".join(f"-{extra}" for extra in extras))

  @property
  def local_batch_differs(self) -> bool:
    return self.algorithm == "fedavg" and self.batch_size != BATCH_SIZE

  @property
  def learning_rate(self) -> float:
    return self.lr or (FEDSGD_LR if self.algorithm == "fedsgd" else FEDAVG_LR)

  @property
  def label(self) -> str:
    local = (f", E={self.epochs}" + (f", B={self.batch_size or 'all'}"
                                      if self.local_batch_differs else "")
             if self.algorithm == "fedavg" else "")
    return (f"{NAMES[self.algorithm]} N={self.clients} C={self.fraction:g}{local}, "
            f"{'IID' if self.iid else 'non-IID'}, lr {self.learning_rate:g}"
            + (f", {self.form} form" if self.form else ""))

  def config(self, model: str, rounds: int) -> ExperimentConfig:
    return ExperimentConfig(
        name=self.key,
        data=DataConfig(dataset="mnist", partition="iid" if self.iid else "shards",
                        num_clients=self.clients,
                        samples_per_client=MNIST_EXAMPLES // self.clients if self.iid
                        else None),
        train=TrainConfig(model=model, algorithm=self.algorithm, client_lr=self.learning_rate,
                          fedsgd_form=self.form or "gradient", batch_size=self.batch_size,
                          epochs=self.epochs, rounds=rounds, client_fraction=self.fraction,
                          checkpoint_every=5, seed=self.seed))


BOTH = ("fedsgd", "fedavg")
Rows = List[Tuple[str, List[Setting]]]


def table_target(results: Results, rows: Rows) -> float:
  """The table's target accuracy: its lowest final test accuracy, floored to a point."""
  finals = [results.summary(s.key).test_accuracy for _, row in rows for s in row]
  return float(np.floor(100 * np.nanmin(finals)) / 100)


def comparison_table(results: Results, rows: Rows) -> str:
  """Per row and algorithm: clients per round, messages, final test accuracy, and the
  messages until the accuracy first reached the table's lowest final accuracy."""
  target = table_target(results, rows)
  lines = []
  for name, row in rows:
    for setting in row:
      columns = results.metrics(setting.key)
      summary = results.summary(setting.key)
      lines.append((name, setting.label, int(columns["clients"][0]),
                    markdown.count(summary.messages),
                    markdown.count(messages_to_reach(columns, target)),
                    markdown.percent(summary.test_accuracy)))
  return markdown.table(("setting", "run", "clients/round", "messages",
                         f"messages to {markdown.percent(target)}", "final test acc."),
                        lines)


def first_reached(columns, target: float) -> Optional[int]:
  """The index of the first round whose test accuracy >= target (None: never)."""
  reached = np.flatnonzero(np.nan_to_num(columns["test_accuracy"], nan=-1.0) >= target)
  return int(reached[0]) if len(reached) else None


def messages_to_reach(columns, target: float):
  """Messages (both ways) sent up to the first round whose test accuracy >= target."""
  index = first_reached(columns, target)
  if index is None:
    return None
  messages = columns["messages_up"] + columns["messages_down"]
  return int(np.nansum(messages[:index + 1]))


def final_difference(results: Results, first: Setting, second: Setting
                     ) -> Tuple[float, float]:
  """Second's final test accuracy minus first's, and its standard error."""
  a = results.summary(first.key).test_accuracy
  b = results.summary(second.key).test_accuracy
  return b - a, difference_standard_error(a, b, results.test_size(second.key))


def round_count(count: int) -> str:
  return f"{count} round{'' if count == 1 else 's'}"
