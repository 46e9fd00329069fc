"""FedSGD against FedAvg on MNIST: messages and accuracy as N, C, E and the data vary."""

from __future__ import annotations

import dataclasses
from typing import Dict, List, Sequence, Tuple

import numpy as np

from tff_course.course import markdown
from tff_course.course.arms import Arm
from tff_course.course.experiment import CourseExperiment
from tff_course.course.results import Results
from tff_course.errors import ConfigError
from tff_course.experiment.config import DataConfig, ExperimentConfig, TrainConfig
from tff_course.course.figures import arm_curves
from tff_course.course.settings import FULL

MNIST_EXAMPLES = 60000
CLIENT_COUNTS = (10, 50, 100)
FRACTIONS = (0.01, 0.1, 0.2)
EPOCHS = (1, 2, 4)
FEDAVG_LR = 0.05
FEDSGD_LR = 0.1
SMOOTHNESS_LR = 0.001
SMOOTHNESS_FRACTION = 0.5


@dataclasses.dataclass(frozen=True)
class Setting:
  """One cell of the comparison: algorithm, N clients, fraction C, epochs E, data, lr."""

  algorithm: str
  clients: int = 100
  fraction: float = 0.1
  epochs: int = 1
  iid: bool = True
  lr: float = 0.0

  @property
  def key(self) -> str:
    return (f"{self.algorithm}-n{self.clients}-c{self.fraction:g}-e{self.epochs}-"
            f"{'iid' if self.iid else 'noniid'}-lr{self.learning_rate:g}")

  @property
  def learning_rate(self) -> float:
    return self.lr or (FEDSGD_LR if self.algorithm == "fedsgd" else FEDAVG_LR)

  @property
  def label(self) -> str:
    local = f", E={self.epochs}" if self.algorithm == "fedavg" else ""
    return (f"{'FedSGD' if self.algorithm == 'fedsgd' else 'FedAvg'} N={self.clients} "
            f"C={self.fraction:g}{local}, {'IID' if self.iid else 'non-IID'}, "
            f"lr {self.learning_rate:g}")

  def config(self, model: str, rounds: int) -> ExperimentConfig:
    return ExperimentConfig(
        name=self.key,
        data=DataConfig(dataset="mnist", partition="iid" if self.iid else "shards",
                        num_clients=self.clients,
                        samples_per_client=MNIST_EXAMPLES // self.clients if self.iid
                        else None),
        train=TrainConfig(model=model, algorithm=self.algorithm, client_lr=self.learning_rate,
                          batch_size=10, epochs=self.epochs, rounds=rounds,
                          client_fraction=self.fraction, checkpoint_every=5))


BOTH = ("fedsgd", "fedavg")


def iid_settings() -> List[Tuple[str, List[Setting]]]:
  return [("IID", [Setting(a) for a in BOTH]), ("non-IID", [Setting(a, iid=False)
                                                            for a in BOTH])]


def smoothness_settings() -> List[Setting]:
  return [Setting(a, iid=False, fraction=SMOOTHNESS_FRACTION, lr=SMOOTHNESS_LR)
          for a in BOTH]


COMPARISONS = ("clients", "fraction", "epochs", "iid", "smoothness")


def tables(comparisons: Sequence[str] = COMPARISONS
           ) -> Dict[str, List[Tuple[str, List[Setting]]]]:
  """The report's comparisons, those named in `comparisons`: title -> rows of (row name,
  settings compared)."""
  every = {
      "clients": ("Number of clients N (C = 0.1)", [
          (f"N = {n}", [Setting(a, clients=n) for a in BOTH]) for n in CLIENT_COUNTS]),
      "fraction": ("Client fraction C (N = 100)", [
          (f"C = {c:g}", [Setting(a, fraction=c) for a in BOTH]) for c in FRACTIONS]),
      "epochs": ("Local epochs E (FedAvg, N = 100, C = 0.1)", [
          (f"E = {e}", [Setting("fedavg", epochs=e)]) for e in EPOCHS]),
      "iid": ("IID against non-IID (2 shards of one class per client)", iid_settings()),
      "smoothness": (f"Smoothness: non-IID, lr {SMOOTHNESS_LR:g}, "
                     f"C = {SMOOTHNESS_FRACTION:g}", [("non-IID", smoothness_settings())]),
  }
  check_comparisons(comparisons)
  return dict(every[name] for name in comparisons)


def check_comparisons(comparisons: Sequence[str]) -> None:
  """ConfigError unless `comparisons` names some of COMPARISONS, each once."""
  if not comparisons:
    raise ConfigError(f"comparisons: got none, expected some of {', '.join(COMPARISONS)}")
  for name in comparisons:
    if name not in COMPARISONS:
      raise ConfigError(f"comparisons: got {name!r}, expected some of "
                        f"{', '.join(COMPARISONS)}")
  if len(set(comparisons)) != len(comparisons):
    raise ConfigError(f"comparisons: got {list(comparisons)}, expected each name once")


def arms(setting: str, comparisons: Sequence[str] = COMPARISONS) -> List[Arm]:
  model, rounds = ("mnist_cnn", 50) if setting == FULL else ("mnist_2nn", 15)
  settings: Dict[str, Setting] = {}
  for rows in tables(comparisons).values():
    for _, compared in rows:
      settings.update({s.key: s for s in compared})
  return [Arm(key, s.label, s.config(model, rounds)) for key, s in settings.items()]


def report(results: Results, comparisons: Sequence[str] = COMPARISONS) -> List[str]:
  sections = []
  for title, rows in tables(comparisons).items():
    sections += [f"## {title}", comparison_table(results, rows)]
  if "smoothness" in comparisons:
    smooth = smoothness_settings()
    sections += [arm_curves(results, [s.key for s in smooth], "smoothness.png",
                            f"Non-IID MNIST, lr {SMOOTHNESS_LR:g}, C = {SMOOTHNESS_FRACTION:g}"),
                 smoothness_table(results, smooth)]
  if "iid" in comparisons:
    sections += ["## IID against non-IID curves",
                 arm_curves(results, [s.key for _, compared in iid_settings()
                                      for s in compared],
                            "iid-vs-noniid.png", "FedSGD and FedAvg, IID and non-IID MNIST")]
  return sections


def comparison_table(results: Results, rows: Sequence[Tuple[str, List[Setting]]]) -> str:
  """Per row and algorithm: clients per round, messages, final test accuracy, and the
  messages until the accuracy first reached the table's lowest final accuracy."""
  finals = [results.summary(s.key).test_accuracy for _, compared in rows for s in compared]
  target = np.floor(100 * np.nanmin(finals)) / 100
  lines = []
  for name, compared in rows:
    for setting in compared:
      columns = results.metrics(setting.key)
      summary = results.summary(setting.key)
      lines.append((name, setting.label, int(columns["clients"][0]),
                    markdown.count(summary.messages),
                    markdown.count(messages_to_reach(columns, target)),
                    markdown.percent(summary.test_accuracy)))
  return markdown.table(("setting", "run", "clients/round", "messages",
                         f"messages to {markdown.percent(target)}", "final test acc."),
                        lines)


def messages_to_reach(columns, target: float):
  """Messages (both ways) sent up to the first round whose test accuracy >= target."""
  reached = np.flatnonzero(np.nan_to_num(columns["test_accuracy"], nan=-1.0) >= target)
  if not len(reached):
    return None
  messages = columns["messages_up"] + columns["messages_down"]
  return int(np.nansum(messages[:reached[0] + 1]))


def smoothness_table(results: Results, settings: Sequence[Setting]) -> str:
  """How much the test loss jumps: mean |change| per round and rounds where it rose."""
  rows = []
  for setting in settings:
    loss = results.metrics(setting.key)["test_loss"]
    loss = loss[~np.isnan(loss)]
    steps = np.diff(loss)
    rows.append((setting.label, f"{np.abs(steps).mean():.4f}" if len(steps) else "n/a",
                 int((steps > 0).sum()), f"{loss[-1]:.4f}" if len(loss) else "n/a"))
  return markdown.table(("run", "mean |change of test loss| per round",
                         "rounds where test loss rose", "final test loss"), rows)


EXPERIMENT = CourseExperiment(
    name="fedsgd-fedavg",
    title="FedSGD against FedAvg: messages and accuracy",
    description=(
        "McMahan et al.'s comparison on MNIST. FedSGD: every sampled client sends one "
        "full-batch gradient and the server takes one step (lr 0.1). FedAvg: every sampled "
        "client runs E epochs of SGD with B = 10 (lr 0.05) and the server averages the "
        "weights. Both send the same two messages per client per round, so the question is "
        "how many rounds, hence messages, each needs. IID clients split the 60,000 "
        "training images equally; non-IID clients get two shards of one class each. "
        "Tables give messages (both ways) and test accuracy after the last round, and the "
        "messages until each run first reached the table's lowest final accuracy."),
    duration="2.8 min measured (2NN, 15 rounds); --full: McMahan's CNN, 50 rounds, est. 1-2 h",
    arms=arms, report=report, questions=lambda results: [], assignment="")


def experiment(comparisons: Sequence[str] = COMPARISONS) -> CourseExperiment:
  """The experiment cut down to the named comparisons (their arms, tables and curves)."""
  check_comparisons(comparisons)
  chosen = tuple(comparisons)
  return dataclasses.replace(EXPERIMENT, arms=lambda setting: arms(setting, chosen),
                             report=lambda results: report(results, chosen))
