"""FedSGD against FedAvg on MNIST: messages and accuracy as N, C, E and the data vary;
with --assignment, the homework's comparison and the two forms of FedSGD (exercise A1)."""

from __future__ import annotations

import dataclasses
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from tff_course.course import markdown
from tff_course.course.arms import Arm
from tff_course.course.experiment import CourseExperiment
from tff_course.course.figures import arm_curves
from tff_course.course.questions import (MEASURED, Answer, difference_standard_error,
                                         equal_verdict, plus_minus, sign_verdict)
from tff_course.course.results import Results
from tff_course.course.settings import ASSIGNMENT, FULL
from tff_course.errors import ConfigError
from tff_course.experiment.config import DataConfig, ExperimentConfig, TrainConfig

MNIST_EXAMPLES = 60000
CLIENT_COUNTS = (10, 50, 100)
FRACTIONS = (0.01, 0.1, 0.2)
EPOCHS = (1, 2, 4)
FEDAVG_LR = 0.05
FEDSGD_LR = 0.1
BATCH_SIZE = 10
SMOOTHNESS_LR = 0.001
SMOOTHNESS_FRACTION = 0.5
HOMEWORK_LR = 0.01
HOMEWORK_BATCH = 100
HOMEWORK_ROUNDS = 10
HOMEWORK_SEED = 10
HOMEWORK_MODEL = "mnist_2nn"
FORM_ROUNDS = 5
FORMS = ("gradient", "weights")
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


def iid_settings() -> List[Tuple[str, List[Setting]]]:
  return [("IID", [Setting(a) for a in BOTH]), ("non-IID", [Setting(a, iid=False)
                                                            for a in BOTH])]


def smoothness_settings() -> List[Setting]:
  return [Setting(a, iid=False, fraction=SMOOTHNESS_FRACTION, lr=SMOOTHNESS_LR)
          for a in BOTH]


def homework_settings() -> List[Setting]:
  """The homework's FedSGD against FedAvg: N = 100 IID, C = 0.1, lr 0.01, seed 10;
  FedAvg E = 1, B = 100."""
  return [Setting("fedsgd", lr=HOMEWORK_LR, batch_size=None, seed=HOMEWORK_SEED),
          Setting("fedavg", lr=HOMEWORK_LR, batch_size=HOMEWORK_BATCH, seed=HOMEWORK_SEED)]


FORM_SCENARIOS = {
    "(i)": Setting("fedsgd", clients=100, fraction=0.5, lr=0.01, batch_size=None,
                   seed=HOMEWORK_SEED),
    "(ii)": Setting("fedsgd", clients=50, fraction=0.2, iid=False, lr=0.1, batch_size=None,
                    seed=HOMEWORK_SEED),
}


def form_settings(scenario: str) -> List[Setting]:
  """Exercise A1's scenario in FedSGD's gradient form and weight form."""
  return [dataclasses.replace(FORM_SCENARIOS[scenario], form=form) for form in FORMS]


def scenario_text(setting: Setting) -> str:
  """"lr 0.01, 100 IID clients, C = 0.5"."""
  return (f"lr {setting.learning_rate:g}, {setting.clients} "
          f"{'IID' if setting.iid else 'non-IID'} clients, C = {setting.fraction:g}")


COMPARISONS = ("clients", "fraction", "epochs", "iid", "smoothness")
Rows = List[Tuple[str, List[Setting]]]


def tables(comparisons: Sequence[str] = COMPARISONS) -> Dict[str, Rows]:
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


def compared(comparison: str) -> List[Setting]:
  """Every setting of one comparison's table."""
  return [s for rows in tables([comparison]).values() for _, row in rows for s in row]


def arms(setting: str, comparisons: Sequence[str] = COMPARISONS) -> List[Arm]:
  """The grid of the named comparisons (2NN, 15 rounds; --full: CNN, 50 rounds), or
  with the assignment setting the homework's arms, whatever the comparisons."""
  if setting == ASSIGNMENT:
    return assignment_arms()
  model, rounds = ("mnist_cnn", 50) if setting == FULL else ("mnist_2nn", 15)
  settings: Dict[str, Setting] = {}
  for comparison in comparisons:
    settings.update({s.key: s for s in compared(comparison)})
  return [Arm(key, s.label, s.config(model, rounds)) for key, s in settings.items()]


def assignment_arms() -> List[Arm]:
  """The homework's comparison (10 rounds) and exercise A1's two scenarios (5 rounds)."""
  planned = [(s, HOMEWORK_ROUNDS) for s in homework_settings()]
  planned += [(s, FORM_ROUNDS) for name in FORM_SCENARIOS for s in form_settings(name)]
  return [Arm(s.key, s.label, s.config(HOMEWORK_MODEL, rounds)) for s, rounds in planned]


def present(results: Results, settings: Sequence[Setting]) -> bool:
  """Whether every one of the settings ran as an arm of `results`."""
  keys = {arm.key for arm in results.arms}
  return all(s.key in keys for s in settings)


def shown_comparisons(results: Results, comparisons: Sequence[str]) -> List[str]:
  """The named comparisons whose every arm ran."""
  return [name for name in comparisons if present(results, compared(name))]


def report(results: Results, comparisons: Sequence[str] = COMPARISONS) -> List[str]:
  sections = homework_report(results) if present(results, homework_settings()) else []
  for scenario in FORM_SCENARIOS:
    if present(results, form_settings(scenario)):
      sections += form_report(results, scenario)
  shown = shown_comparisons(results, comparisons)
  for title, rows in (tables(shown).items() if shown else ()):
    sections += [f"## {title}", comparison_table(results, rows)]
  if "smoothness" in shown:
    smooth = smoothness_settings()
    sections += [arm_curves(results, [s.key for s in smooth], "smoothness.png",
                            f"Non-IID MNIST, lr {SMOOTHNESS_LR:g}, C = {SMOOTHNESS_FRACTION:g}"),
                 smoothness_table(results, smooth)]
  if "iid" in shown:
    sections += ["## IID against non-IID curves",
                 arm_curves(results, [s.key for _, row in iid_settings() for s in row],
                            "iid-vs-noniid.png", "FedSGD and FedAvg, IID and non-IID MNIST")]
  return sections


def homework_report(results: Results) -> List[str]:
  """The homework's comparison: its table and curves."""
  settings = homework_settings()
  return [f"## The homework's comparison (N = 100 IID, C = 0.1, lr {HOMEWORK_LR:g}, "
          f"FedAvg E = 1, B = {HOMEWORK_BATCH}, seed {HOMEWORK_SEED})",
          comparison_table(results, [("homework", settings)]),
          arm_curves(results, [s.key for s in settings], "homework.png",
                     "FedSGD and FedAvg at the homework's settings")]


def form_report(results: Results, scenario: str) -> List[str]:
  """Exercise A1's scenario: both forms' accuracy and loss per round, and the curves
  with the weight form's accuracy minus the gradient form's."""
  gradient, weights = form_settings(scenario)
  return [f"## Exercise A1, scenario {scenario}: FedSGD's two forms "
          f"({scenario_text(gradient)})", form_table(results, gradient, weights),
          arm_curves(results, [gradient.key, weights.key],
                     f"forms-{scenario.strip('()')}.png",
                     f"FedSGD gradient and weights form, {scenario_text(gradient)}",
                     baseline=gradient.key)]


def paired_rounds(results: Results, first: Setting, second: Setting
                  ) -> Tuple[np.ndarray, Dict[str, np.ndarray], Dict[str, np.ndarray]]:
  """The rounds both arms evaluated, and each arm's columns at those rounds."""
  one, two = results.metrics(first.key), results.metrics(second.key)
  rounds = np.intersect1d(one["round"][~np.isnan(one["test_accuracy"])],
                          two["round"][~np.isnan(two["test_accuracy"])])

  def at(columns):
    keep = np.isin(columns["round"], rounds)
    return {name: values[keep] for name, values in columns.items()}

  return rounds, at(one), at(two)


def form_table(results: Results, gradient: Setting, weights: Setting) -> str:
  """Per round: test accuracy and loss of both forms and their differences."""
  rounds, one, two = paired_rounds(results, gradient, weights)
  rows = [(int(r), markdown.percent(a), markdown.percent(b), markdown.points(b - a),
           f"{la:.6f}", f"{lb:.6f}", f"{lb - la:+.1e}")
          for r, a, b, la, lb in zip(rounds, one["test_accuracy"], two["test_accuracy"],
                                     one["test_loss"], two["test_loss"])]
  return markdown.table(("round", "test acc., gradient form", "test acc., weights form",
                         "difference", "test loss, gradient form", "test loss, weights form",
                         "difference"), rows)


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


def smoothness_numbers(results: Results, setting: Setting) -> Tuple[float, int, float]:
  """Mean |change of test loss| per round, rounds where it rose, and the last loss."""
  loss = results.metrics(setting.key)["test_loss"]
  loss = loss[~np.isnan(loss)]
  steps = np.diff(loss)
  return (float(np.abs(steps).mean()) if len(steps) else np.nan, int((steps > 0).sum()),
          float(loss[-1]) if len(loss) else np.nan)


def smoothness_table(results: Results, settings: Sequence[Setting]) -> str:
  """How much the test loss jumps: mean |change| per round and rounds where it rose."""
  rows = [(s.label, *_smoothness_cells(*smoothness_numbers(results, s))) for s in settings]
  return markdown.table(("run", "mean |change of test loss| per round",
                         "rounds where test loss rose", "final test loss"), rows)


def _smoothness_cells(change: float, rises: int, last: float) -> Tuple[str, int, str]:
  return (_decimal(change), rises, _decimal(last))


def _decimal(value: float) -> str:
  return "n/a" if np.isnan(value) else f"{value:.4f}"


def final_difference(results: Results, first: Setting, second: Setting
                     ) -> Tuple[float, float]:
  """Second's final test accuracy minus first's, and its standard error."""
  a = results.summary(first.key).test_accuracy
  b = results.summary(second.key).test_accuracy
  return b - a, difference_standard_error(a, b, results.test_size(second.key))


def questions(results: Results) -> List[Answer]:
  """The questions the arms that ran can answer: the homework's comparison and A1's
  scenarios (--assignment), the grid's comparisons (default, --full)."""
  answers = homework_answers(results) if present(results, homework_settings()) else []
  answers += [form_answer(results, scenario) for scenario in FORM_SCENARIOS
              if present(results, form_settings(scenario))]
  for name in shown_comparisons(results, COMPARISONS):
    answers.append(grid_answer(results, name))
  return answers


def homework_answers(results: Results) -> List[Answer]:
  """Which algorithm ends higher at the homework's settings, and what each needs to
  reach the lower final accuracy."""
  fedsgd, fedavg = homework_settings()
  sgd, avg = results.summary(fedsgd.key), results.summary(fedavg.key)
  difference, error = final_difference(results, fedsgd, fedavg)
  target = table_target(results, [("homework", [fedsgd, fedavg])])
  reached = "; ".join(f"{NAMES[s.algorithm]} {_reached(results, s, target)}"
                      for s in (fedavg, fedsgd))
  return [
      Answer(f"After {HOMEWORK_ROUNDS} rounds at the homework's settings (N = 100 IID, "
             f"C = 0.1, lr {HOMEWORK_LR:g}; FedAvg E = 1, B = {HOMEWORK_BATCH}), which has "
             f"the higher test accuracy, FedSGD or FedAvg, and by how much?",
             f"FedAvg {markdown.percent(avg.test_accuracy)} after {_rounds(avg.rounds)}, "
             f"FedSGD {markdown.percent(sgd.test_accuracy)} after {sgd.rounds}: FedAvg "
             f"minus FedSGD {plus_minus(difference, error)}.", sign_verdict(difference, error),
             f"no reference solution numbers; expected (McMahan et al., 2017): FedAvg "
             f"ahead after the same rounds, its clients taking "
             f"{MNIST_EXAMPLES // fedavg.clients // HOMEWORK_BATCH} steps of "
             f"B = {HOMEWORK_BATCH} a round to FedSGD's one full-batch step."),
      Answer("How many rounds and messages does each need to reach the lower of the two "
             "final accuracies?",
             f"target {markdown.percent(target)} (the lower final accuracy, floored to a "
             f"point): {reached}.", MEASURED),
  ]


def _reached(results: Results, setting: Setting, target: float) -> str:
  columns = results.metrics(setting.key)
  index = first_reached(columns, target)
  if index is None:
    return "never reached it"
  return (f"reached it in round {int(columns['round'][index])} after "
          f"{markdown.count(messages_to_reach(columns, target))} messages")


def _rounds(count: int) -> str:
  return f"{count} round{'' if count == 1 else 's'}"


def form_answer(results: Results, scenario: str) -> Answer:
  """Whether A1's scenario gave the same accuracy in both forms: the largest per-round
  difference against the final accuracies' standard error, and the test loss's."""
  gradient, weights = form_settings(scenario)
  rounds, one, two = paired_rounds(results, gradient, weights)
  accuracy = two["test_accuracy"] - one["test_accuracy"]
  loss = np.abs(two["test_loss"] - one["test_loss"])
  worst = int(np.argmax(np.abs(accuracy))) if len(rounds) else None
  largest = abs(float(accuracy[worst])) if worst is not None else np.nan
  size = results.test_size(weights.key)
  _, error = final_difference(results, gradient, weights)
  if worst is None:
    agreement = "no round evaluated by both"
  elif largest == 0:
    agreement = f"the same test accuracy in all {_rounds(len(rounds))}"
  else:
    agreement = (f"largest |difference| over the {_rounds(len(rounds))} {100 * largest:.2f} pt "
                 f"(round {int(rounds[worst])}, {round(largest * size)} of {size:,} test "
                 f"examples)")
  return Answer(
      f"Exercise A1, scenario {scenario} ({scenario_text(gradient)}, {FORM_ROUNDS} rounds): "
      f"do FedSGD's gradient form and weights form give the same model?",
      f"final test accuracy: gradient form "
      f"{markdown.percent(results.summary(gradient.key).test_accuracy)}, weights form "
      f"{markdown.percent(results.summary(weights.key).test_accuracy)}; {agreement}, "
      f"against a standard error of {100 * error:.2f} pt; the test loss differs by at most "
      f"{f'{loss.max():.1e}' if len(loss) else 'n/a'}.",
      equal_verdict(largest, error),
      "the two forms are one algorithm (w - lr * mean gradient = mean of w - lr * "
      "gradient): the same accuracy every round, up to float rounding.")


def rows_answer(results: Results, rows: Rows) -> str:
  """Per row: each run's final test accuracy and its messages to the table's target."""
  target = table_target(results, rows)
  parts = []
  for name, row in rows:
    cells = [f"{NAMES[s.algorithm]} {markdown.percent(results.summary(s.key).test_accuracy)} "
             f"({markdown.count(messages_to_reach(results.metrics(s.key), target))} messages "
             f"to the target)" for s in row]
    parts.append(f"{name}: {', '.join(cells)}")
  return (f"target {markdown.percent(target)} (the table's lowest final accuracy, floored "
          f"to a point). {'; '.join(parts)}.")


def fewer_messages(results: Results, rows: Rows) -> str:
  """How many rows each algorithm reached the table's target in with fewer messages."""
  target = table_target(results, rows)
  wins = {name: 0 for name in NAMES.values()}
  for _, row in rows:
    needed = {NAMES[s.algorithm]: messages_to_reach(results.metrics(s.key), target)
              for s in row}
    counts = {name: np.inf if value is None else value for name, value in needed.items()}
    best = min(counts.values())
    winners = [name for name, value in counts.items() if value == best]
    if len(winners) == 1 and np.isfinite(best):
      wins[winners[0]] += 1
  return (f"Fewer messages to the target: FedAvg in {wins['FedAvg']} of {len(rows)} "
          f"settings, FedSGD in {wins['FedSGD']}.")


def epochs_effect(results: Results, rows: Rows) -> str:
  """The last row's FedAvg minus the first row's, in final accuracy."""
  (first_name, (first,)), (last_name, (last,)) = rows[0], rows[-1]
  difference, error = final_difference(results, first, last)
  return f"{last_name} minus {first_name}: {plus_minus(difference, error)}."


def noniid_cost(results: Results, rows: Rows) -> str:
  """Each algorithm's non-IID minus IID final accuracy."""
  (_, iid), (_, noniid) = rows
  parts = [f"{NAMES[a.algorithm]} {plus_minus(*final_difference(results, a, b))}"
           for a, b in zip(iid, noniid)]
  return f"Non-IID minus IID: {', '.join(parts)}."


def smoothness_effect(results: Results, rows: Rows) -> str:
  """Each algorithm's mean |change of test loss| and rounds where it rose."""
  numbers = {NAMES[s.algorithm]: smoothness_numbers(results, s) for _, row in rows
             for s in row}
  parts = [f"{name} mean |change of test loss| {_decimal(change)} per round, rose in "
           f"{rises} rounds" for name, (change, rises, _) in numbers.items()]
  changes = {name: np.nan_to_num(change, nan=np.inf) for name, (change, _, _) in
             numbers.items()}
  smoothest = [name for name, change in changes.items() if change == min(changes.values())]
  verdict = (f"the smoother is {smoothest[0]}" if len(smoothest) == 1 else
             "neither is smoother")
  return f"{'; '.join(parts)}: {verdict}."


GRID_QUESTIONS: Dict[str, Tuple[str, Callable[[Results, Rows], str]]] = {
    "clients": ("How does the number of clients N (C = 0.1) change each algorithm's final "
                "accuracy and the messages it needs to reach a target accuracy?",
                fewer_messages),
    "fraction": ("How does the client fraction C (N = 100) change each algorithm's final "
                 "accuracy and the messages it needs to reach a target accuracy?",
                 fewer_messages),
    "epochs": ("Does more local work (E = 1, 2, 4) raise FedAvg's accuracy after the same "
               "rounds, and cut the messages it needs?", epochs_effect),
    "iid": ("How much does non-IID data (two shards of one class per client) cost each "
            "algorithm?", noniid_cost),
    "smoothness": (f"On non-IID data at lr {SMOOTHNESS_LR:g} (C = {SMOOTHNESS_FRACTION:g}), "
                   f"which algorithm's test loss moves more smoothly?", smoothness_effect),
}


def grid_answer(results: Results, comparison: str) -> Answer:
  """The answer to a grid comparison's question, from its table's runs."""
  question, effect = GRID_QUESTIONS[comparison]
  (rows,) = tables([comparison]).values()
  return Answer(question, f"{rows_answer(results, rows)} {effect(results, rows)}", MEASURED)


ASSIGNMENT_TEXT = (
    f"The homework compares FedSGD and FedAvg on 100 IID clients of 600 MNIST images each "
    f"with lr {HOMEWORK_LR:g}, C = 0.1, E = 1 and B = {HOMEWORK_BATCH} for FedAvg (FedSGD: "
    f"one full-batch gradient per client), {HOMEWORK_ROUNDS} rounds and seed "
    f"{HOMEWORK_SEED} (client sampling, the partition and the initial model). Exercise A1 "
    f"runs FedSGD in its gradient form (clients send one full-batch gradient, the server "
    f"steps down their weighted mean) and its weight form (clients send their weights "
    f"after that step, the server averages them) in two scenarios of {FORM_ROUNDS} rounds: "
    f"(i) {scenario_text(FORM_SCENARIOS['(i)'])}; (ii) "
    f"{scenario_text(FORM_SCENARIOS['(ii)'])} (two shards of one class each). "
    f"`--assignment` runs exactly these six runs, with seed {HOMEWORK_SEED}. The "
    f"homework does not name the model: every setting here uses the 2NN (two hidden "
    f"layers of 200 ReLU units; --full uses McMahan's CNN for the grid).\n\n"
    f"The default setting runs instead the grid of N, C, E, IID/non-IID and smoothness "
    f"(16 runs, seed 0) with lr {FEDSGD_LR:g} for FedSGD and {FEDAVG_LR:g} for FedAvg, "
    f"B = {BATCH_SIZE} and 15 rounds: at lr {HOMEWORK_LR:g} FedSGD moves so little in "
    f"{HOMEWORK_ROUNDS} rounds that the grid's tables would differ mostly by noise, and "
    f"B = {BATCH_SIZE} gives FedAvg ten times the local steps of B = {HOMEWORK_BATCH}, "
    f"so the grid shows the differences McMahan et al. report while its 16 runs finish "
    f"in about 3 minutes on 2 cores. The grid's questions are answered by the default "
    f"and --full reports, the homework's by the --assignment report.")

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
        "messages until each run first reached the table's lowest final accuracy. "
        "--assignment runs the homework's own comparison and exercise A1's two forms of "
        "FedSGD instead (see the assignment's settings at the end)."),
    duration="2.8 min measured (2NN, 15 rounds); --full: McMahan's CNN, 50 rounds, "
             "est. 1-2 h; --assignment: 3.7 min measured (6 runs, 2NN, 10 and 5 "
             "rounds)",
    arms=arms, report=report, questions=questions, assignment=ASSIGNMENT_TEXT)


def experiment(comparisons: Sequence[str] = COMPARISONS) -> CourseExperiment:
  """The experiment cut down to the named comparisons (their arms, tables, curves and
  questions); the assignment setting runs the homework's arms whatever they are."""
  check_comparisons(comparisons)
  chosen = tuple(comparisons)
  return dataclasses.replace(EXPERIMENT, arms=lambda setting: arms(setting, chosen),
                             report=lambda results: report(results, chosen))
