"""The homework's FedSGD-against-FedAvg comparison and exercise A1's two forms of
FedSGD: the runs `--assignment` makes, their report sections and their answers."""

from __future__ import annotations

import dataclasses
from typing import Dict, List, Tuple

import numpy as np

from tff_course.course import markdown
from tff_course.course.arms import Arm
from tff_course.course.figures import arm_curves
from tff_course.course.fedsgd_runs import (BATCH_SIZE, FEDAVG_LR, FEDSGD_LR, MNIST_EXAMPLES,
                                           NAMES, Setting, comparison_table,
                                           final_difference, first_reached,
                                           messages_to_reach, round_count, table_target)
from tff_course.course.questions import (MEASURED, Answer, equal_verdict, plus_minus,
                                         sign_verdict)
from tff_course.course.results import Results

HOMEWORK_LR = 0.01
HOMEWORK_BATCH = 100
HOMEWORK_ROUNDS = 10
HOMEWORK_SEED = 10
HOMEWORK_MODEL = "mnist_2nn"
FORM_ROUNDS = 5
FORMS = ("gradient", "weights")


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


def assignment_arms() -> List[Arm]:
  """The homework's comparison (10 rounds) and exercise A1's two scenarios (5 rounds)."""
  planned = [(s, HOMEWORK_ROUNDS) for s in homework_settings()]
  planned += [(s, FORM_ROUNDS) for name in FORM_SCENARIOS for s in form_settings(name)]
  return [Arm(s.key, s.label, s.config(HOMEWORK_MODEL, rounds)) for s, rounds in planned]


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


def pairedround_count(results: Results, first: Setting, second: Setting
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
  rounds, one, two = pairedround_count(results, gradient, weights)
  rows = [(int(r), markdown.percent(a), markdown.percent(b), markdown.points(b - a),
           f"{la:.6f}", f"{lb:.6f}", f"{lb - la:+.1e}")
          for r, a, b, la, lb in zip(rounds, one["test_accuracy"], two["test_accuracy"],
                                     one["test_loss"], two["test_loss"])]
  return markdown.table(("round", "test acc., gradient form", "test acc., weights form",
                         "difference", "test loss, gradient form", "test loss, weights form",
                         "difference"), rows)


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
             f"FedAvg {markdown.percent(avg.test_accuracy)} after {round_count(avg.rounds)}, "
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


def form_answer(results: Results, scenario: str) -> Answer:
  """Whether A1's scenario gave the same accuracy in both forms: the largest per-round
  difference against the final accuracies' standard error, and the test loss's."""
  gradient, weights = form_settings(scenario)
  rounds, one, two = pairedround_count(results, gradient, weights)
  accuracy = two["test_accuracy"] - one["test_accuracy"]
  loss = np.abs(two["test_loss"] - one["test_loss"])
  worst = int(np.argmax(np.abs(accuracy))) if len(rounds) else None
  largest = abs(float(accuracy[worst])) if worst is not None else np.nan
  size = results.test_size(weights.key)
  _, error = final_difference(results, gradient, weights)
  if worst is None:
    agreement = "no round evaluated by both"
  elif largest == 0:
    agreement = f"the same test accuracy in all {round_count(len(rounds))}"
  else:
    agreement = (f"largest |difference| over the {round_count(len(rounds))} {100 * largest:.2f} pt "
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
    f"in about 4 minutes on 2 shared cores. The grid's questions are answered by the default "
    f"and --full reports, the homework's by the --assignment report.")
