"""NumPy mini-batch SGD against NumPy FedAvg with several numbers of local steps J, per
server iteration and per gradient step, on an IID and a heterogeneous dataset
(tff_course.scratch: no ML library)."""

from __future__ import annotations

import dataclasses
import math
from typing import Dict, List, Mapping, Sequence

import numpy as np

from tff_course.course import markdown
from tff_course.course.arms import Arm
from tff_course.course.curves import diverged, first_reach, plateau
from tff_course.course.experiment import CourseExperiment
from tff_course.course.figures import arm_curves
from tff_course.course.numpy_runs import run_numpy
from tff_course.course.questions import (MEASURED, REPRODUCED, Answer,
                                         difference_standard_error, plus_minus,
                                         sign_verdict)
from tff_course.course.results import Results
from tff_course.course.settings import ASSIGNMENT, DEFAULT, FULL
from tff_course.errors import ConfigError


@dataclasses.dataclass(frozen=True)
class Data:
  """A dataset of the experiment: its arms' key prefix, its name in reports, how
  load_dataset loads it, and whether its clients are IID."""

  key: str
  label: str
  dataset: str
  options: Mapping[str, float]
  iid: bool


DATA = {data.key: data for data in (
    Data("synthetic_iid", "Synthetic-IID", "synthetic_iid", {}, True),
    Data("synthetic_1_1", "Synthetic(1, 1)", "synthetic", {"alpha": 1.0, "beta": 1.0}, False),
    Data("toy_iid", "toy IID", "toy_iid", {}, True),
    Data("toy_hetero", "toy heterogeneous", "toy_hetero", {}, False))}
DATASETS = ("synthetic_iid", "synthetic_1_1")
LOCAL_STEPS = (1, 5, 20)
LEARNING_RATE = 0.3
BATCH_SIZE = 10
ITERATIONS = {DEFAULT: 50, FULL: 300, ASSIGNMENT: 300}


def sgd_key(data: Data) -> str:
  return f"{data.key}-sgd"


def fedavg_key(data: Data, steps: int) -> str:
  return f"{data.key}-fedavg-j{steps}"


def data_arms(data: Data, iterations: int) -> List[Arm]:
  """Mini-batch SGD and FedAvg with every J of LOCAL_STEPS on one dataset."""
  common = {"dataset": data.dataset, **({"dataset_options": dict(data.options)}
                                        if data.options else {}),
            "rounds": iterations, "lr": LEARNING_RATE, "batch_size": BATCH_SIZE, "seed": 0}
  return ([Arm(sgd_key(data), f"{data.label}: mini-batch SGD",
               settings={**common, "algorithm": "sgd"}, run_outside=run_numpy)] +
          [Arm(fedavg_key(data, steps), f"{data.label}: FedAvg J={steps}",
               settings={**common, "algorithm": "fedavg", "local_steps": steps},
               run_outside=run_numpy) for steps in LOCAL_STEPS])


def arms(setting: str, datasets: Sequence[str] = DATASETS) -> List[Arm]:
  return [arm for name in datasets for arm in data_arms(DATA[name], ITERATIONS[setting])]


def data_keys(data: Data) -> List[str]:
  return [sgd_key(data)] + [fedavg_key(data, steps) for steps in LOCAL_STEPS]


def target_loss(results: Results, data: Data) -> float:
  """The highest final train loss of the dataset's arms that stayed finite: a level
  every such arm reached."""
  finals = [results.metrics(key)["train_loss"][-1] for key in data_keys(data)]
  finite = [value for value in finals if math.isfinite(value)]
  return max(finite) if finite else math.nan


def report(results: Results, datasets: Sequence[str] = DATASETS) -> List[str]:
  sections = []
  for name in datasets:
    data = DATA[name]
    keys = data_keys(data)
    sections += [f"## {data.label}",
                 arm_curves(results, keys, f"{data.key}-iterations.png",
                            f"{data.label}: mini-batch SGD vs FedAvg, per server iteration",
                            xlabel="server iteration"),
                 arm_curves(results, keys, f"{data.key}-gradient-steps.png",
                            f"{data.label}: mini-batch SGD vs FedAvg, per gradient step",
                            x="gradient_steps", xlabel="gradient steps (log scale)",
                            log_x=True),
                 steps_table(results, data)]
  return sections


def steps_table(results: Results, data: Data) -> str:
  """Per arm: gradient steps, iterations and gradient steps to the dataset's target loss,
  final, best and plateau train loss, final test accuracy."""
  target = target_loss(results, data)
  rows = []
  for key in data_keys(data):
    columns = results.metrics(key)
    reached = first_reach(columns["train_loss"], target)
    rows.append((results.arm(key).label, f"{int(columns['gradient_steps'][-1]):,}",
                 _reach(reached, columns["round"]), _reach(reached, columns["gradient_steps"]),
                 f"{columns['train_loss'][-1]:.3f}", f"{np.nanmin(columns['train_loss']):.3f}",
                 str(plateau(columns["train_loss"])),
                 markdown.percent(columns["test_accuracy"][-1])))
  return markdown.table(("run", "gradient steps", f"iterations to train loss {target:.3f}",
                         f"gradient steps to {target:.3f}", "final train loss",
                         "best train loss", "plateau train loss (last quarter)",
                         "final test acc."), rows)


def _reach(index, column: np.ndarray) -> str:
  return "never" if index is None else f"{int(column[index]):,}"


def questions(results: Results, datasets: Sequence[str] = DATASETS) -> List[Answer]:
  iid, heterogeneous = (DATA[name] for name in datasets)
  return [per_iteration(results, iid), per_gradient_step(results, iid),
          local_steps_heterogeneous(results, heterogeneous),
          local_steps_iid(results, iid, heterogeneous)]


def per_iteration(results: Results, data: Data) -> Answer:
  """SGD against every FedAvg arm after the same server iterations; the verdict on the
  smallest lead of the arms with J > 1 (local updating) over SGD."""
  target = target_loss(results, data)
  sgd = results.metrics(sgd_key(data))
  size = results.test_size(sgd_key(data))
  sgd_accuracy = sgd["test_accuracy"][-1]
  local = [steps for steps in LOCAL_STEPS if steps > 1]
  leads, parts = {}, []
  for steps in LOCAL_STEPS:
    columns = results.metrics(fedavg_key(data, steps))
    accuracy = columns["test_accuracy"][-1]
    leads[steps] = (accuracy - sgd_accuracy,
                    difference_standard_error(accuracy, sgd_accuracy, size))
    parts.append(f"FedAvg J={steps} {_curve_summary(columns, target)}, "
                 f"{plus_minus(*leads[steps])} over SGD")
  weakest = min(local, key=lambda steps: leads[steps][0])
  return Answer(
      f"Which converges faster in terms of server iterations on the IID data "
      f"({data.label}), mini-batch SGD or FedAvg?",
      f"after {int(sgd['round'][-1])} iterations: mini-batch SGD "
      f"{_curve_summary(sgd, target)}; " + "; ".join(parts) + ". The verdict takes the "
      f"smallest lead of the arms with local updating (J={weakest}).",
      sign_verdict(*leads[weakest]),
      "local updating (FedAvg) converges faster per server iteration.")


def _curve_summary(columns: Dict[str, np.ndarray], target: float) -> str:
  reached = first_reach(columns["train_loss"], target)
  return (f"reaches train loss {target:.3f} at iteration "
          f"{_reach(reached, columns['round'])}, ends at train loss "
          f"{columns['train_loss'][-1]:.3f} and test accuracy "
          f"{markdown.percent(columns['test_accuracy'][-1])}")


def per_gradient_step(results: Results, data: Data) -> Answer:
  """The gradient steps each arm took to the dataset's target loss."""
  target = target_loss(results, data)

  def steps_to_target(key: str):
    columns = results.metrics(key)
    reached = first_reach(columns["train_loss"], target)
    return None if reached is None else int(columns["gradient_steps"][reached])

  sgd_steps = steps_to_target(sgd_key(data))
  parts = [f"mini-batch SGD {_count(sgd_steps)}"]
  for steps in LOCAL_STEPS:
    fedavg_steps = steps_to_target(fedavg_key(data, steps))
    parts.append(f"FedAvg J={steps} {_count(fedavg_steps)}"
                 + (f" ({fedavg_steps / sgd_steps:,.1f} times SGD's)"
                    if fedavg_steps and sgd_steps else ""))
  return Answer(
      "And in terms of gradient steps (computation)?",
      f"mini-batch gradient evaluations (summed over clients) to reach train loss "
      f"{target:.3f} on {data.label}: " + "; ".join(parts) + ".", MEASURED)


def _count(steps) -> str:
  return "never" if steps is None else f"{steps:,}"


def local_steps_heterogeneous(results: Results, data: Data) -> Answer:
  """FedAvg's train loss per J on the heterogeneous data; the verdict compares the
  plateaus of the largest and the smallest J against their fluctuation."""
  curves = {steps: results.metrics(fedavg_key(data, steps))["train_loss"]
            for steps in LOCAL_STEPS}
  accuracies = {steps: results.metrics(fedavg_key(data, steps))["test_accuracy"]
                for steps in LOCAL_STEPS}
  parts = [f"J={steps}: plateau {plateau(curve)}, best {np.nanmin(curve):.3f} at iteration "
           f"{int(np.nanargmin(curve)) + 1}, final {curve[-1]:.3f}"
           f"{' (diverged)' if diverged(curve) else ''}, final test accuracy "
           f"{markdown.percent(accuracies[steps][-1])}" for steps, curve in curves.items()]
  levels = [plateau(curves[steps]).mean for steps in LOCAL_STEPS]
  order = ("rise with every larger J" if all(np.diff(levels) > 0) else
           "do not rise with every larger J")
  low, high = min(LOCAL_STEPS), max(LOCAL_STEPS)
  worse, noise = _plateau_gap(curves[high], curves[low])
  verdict = (REPRODUCED if diverged(curves[high]) and not diverged(curves[low])
             else sign_verdict(worse, noise))
  return Answer(
      f"How does the number of local steps J change FedAvg on the heterogeneous data "
      f"({data.label})?",
      "train loss (plateau: mean +- standard deviation over the last quarter of the "
      "iterations) " + "; ".join(parts) + f". The plateaus {order}; J={high} against "
      f"J={low}: {worse:+.3f} (fluctuation {noise:.3f}; the verdict needs a gap of more "
      f"than twice it, or J={high} diverging where J={low} does not).",
      verdict, "more local steps: divergence or a worse plateau.")


def _plateau_gap(first: np.ndarray, second: np.ndarray):
  """The first curve's plateau minus the second's, and their joint fluctuation."""
  a, b = plateau(first), plateau(second)
  return a.mean - b.mean, math.hypot(a.std, b.std)


def local_steps_iid(results: Results, iid: Data, heterogeneous: Data) -> Answer:
  """The same J on the IID data: the verdict compares the smallest J's plateau with the
  largest's (lower with more local steps)."""
  low, high = min(LOCAL_STEPS), max(LOCAL_STEPS)

  def plateaus(data: Data) -> str:
    return ", ".join(f"J={steps} {plateau(results.metrics(fedavg_key(data, steps))['train_loss'])}"
                     for steps in LOCAL_STEPS)

  better, noise = _plateau_gap(results.metrics(fedavg_key(iid, low))["train_loss"],
                               results.metrics(fedavg_key(iid, high))["train_loss"])
  return Answer(
      "Is the effect of J due to the heterogeneity: what do the same J do on the IID "
      "data?",
      f"plateau train loss on {iid.label}: {plateaus(iid)}; on {heterogeneous.label}: "
      f"{plateaus(heterogeneous)}. On {iid.label}, J={high} ends {better:+.3f} below "
      f"J={low} (fluctuation {noise:.3f}).", sign_verdict(better, noise),
      "on IID data local updating helps: more local steps, a lower loss in the same "
      "iterations.")


ASSIGNMENT_TEXT = (
    "The homework names no numbers for this part: two synthetic datasets that differ in "
    "their statistical heterogeneity, mini-batch SGD against FedAvg with several numbers "
    "of local steps, compared per server iteration. `--assignment` therefore equals "
    f"`--full` ({ITERATIONS[FULL]} server iterations); the default runs "
    f"{ITERATIONS[DEFAULT]}, enough for the ordering per iteration and the plateaus on "
    "Synthetic(1, 1) to show. The datasets are FedProx's Synthetic-IID and Synthetic(1, 1) "
    "(Li et al., 2020), the standard pair of that kind; "
    "`numpy_fedavg.experiment(datasets=(\"toy_iid\", \"toy_hetero\"))` runs the toy "
    "blobs instead. The model (softmax regression), J, B, lr and full participation are "
    "the toolkit's choices (see the description).")


EXPERIMENT = CourseExperiment(
    name="numpy-fedavg",
    title="NumPy mini-batch SGD against NumPy FedAvg, per server iteration",
    description=(
        "The from-scratch exercise (tff_course.scratch, NumPy only) on FedProx's "
        "Synthetic-IID and Synthetic(1, 1): 30 devices, 60 features, 10 classes; "
        "Synthetic(1, 1) gives every device its own labelling model and input mean. The "
        "model is multinomial logistic (softmax) regression, as in the FedProx paper: "
        "its loss is convex, so a worse plateau under many local steps is client drift, "
        "not a bad local minimum, and a step costs little. A server iteration is one "
        f"update of the global model. Mini-batch SGD: one gradient step on the next batch "
        f"of B = {BATCH_SIZE} of shuffled passes over the pooled training data (one "
        f"gradient evaluation). FedAvg: one round in which all 30 devices take J local "
        f"steps of B = {BATCH_SIZE} from the global model and the server averages them "
        f"by size (30 J gradient evaluations); J = "
        f"{', '.join(map(str, LOCAL_STEPS))}. Every run takes the same number of "
        f"iterations with lr {LEARNING_RATE}. Losses and accuracies are those of the global "
        f"model on the pooled training data and on the devices' held-out 10 % (test), "
        f"after every iteration; each dataset is drawn against server iterations and "
        f"against gradient steps. What to look for: local updating buys progress per "
        f"iteration on IID data at the price of many more gradient steps; on "
        f"Synthetic(1, 1) more local steps make the training loss level off higher (and "
        f"whether the test accuracy follows the loss)."),
    duration="25 to 50 s measured, 20 s of CPU (50 server iterations); --full and "
             "--assignment: 300 iterations, 5.3 min measured on a busier machine (1.6 min "
             "of CPU)",
    arms=arms, report=report, questions=questions, assignment=ASSIGNMENT_TEXT)


def experiment(datasets: Sequence[str] = DATASETS) -> CourseExperiment:
  """The experiment on another pair of DATA's datasets: (IID, heterogeneous)."""
  chosen = tuple(datasets)
  if len(chosen) != 2 or any(name not in DATA for name in chosen) or \
      not DATA[chosen[0]].iid or DATA[chosen[1]].iid:
    raise ConfigError(f"datasets: got {list(chosen)}, expected an IID and a heterogeneous "
                      f"one of {', '.join(DATA)}, in that order")
  return dataclasses.replace(EXPERIMENT, arms=lambda setting: arms(setting, chosen),
                             report=lambda results: report(results, chosen),
                             questions=lambda results: questions(results, chosen))
