"""The default grid of the FedSGD-against-FedAvg experiment: N, C, E, IID against
non-IID and smoothness, their tables and the answers read from them."""

from __future__ import annotations

from typing import Callable, Dict, List, Sequence, Tuple

import numpy as np

from tff_course.course import markdown
from tff_course.course.fedsgd_runs import (BOTH, NAMES, Rows, Setting, comparison_table,
                                           final_difference, messages_to_reach, table_target)
from tff_course.course.figures import arm_curves
from tff_course.course.questions import MEASURED, Answer, plus_minus
from tff_course.course.results import Results
from tff_course.errors import ConfigError

CLIENT_COUNTS = (10, 50, 100)
FRACTIONS = (0.01, 0.1, 0.2)
EPOCHS = (1, 2, 4)
SMOOTHNESS_LR = 0.001
SMOOTHNESS_FRACTION = 0.5
COMPARISONS = ("clients", "fraction", "epochs", "iid", "smoothness")


def iid_settings() -> List[Tuple[str, List[Setting]]]:
  return [("IID", [Setting(a) for a in BOTH]), ("non-IID", [Setting(a, iid=False)
                                                            for a in BOTH])]


def smoothness_settings() -> List[Setting]:
  return [Setting(a, iid=False, fraction=SMOOTHNESS_FRACTION, lr=SMOOTHNESS_LR)
          for a in BOTH]


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


def comparison_sections(results: Results, shown: Sequence[str]) -> List[str]:
  """The shown comparisons' tables, and the smoothness and IID curves where shown."""
  sections = []
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
