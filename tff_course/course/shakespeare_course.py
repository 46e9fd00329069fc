"""Next-character prediction on LEAF's Shakespeare: one model trained centrally, FedAvg
over the plays' speaking characters (LEAF's natural, non-IID clients), and FedAvg over
the same windows dealt IID to as many clients.

Every arm trains the character LSTM (8-d embedding, 2 x 256 LSTM) as McMahan et al.'s
language model (a target at every position of the window) with Adam and is scored as LEAF
scores it, on the character after each window. A round of every arm processes the same
number of windows: the centralized arm takes CLIENTS x LOCAL_STEPS batches a round, so
the three curves against rounds compare equal compute. Every arm runs once per seed (model
initialization, client sampling and batch order); LEAF's split is the same in all.
"""

from __future__ import annotations

import os
from typing import Dict, List, Mapping, Optional, Tuple

import numpy as np

from tff_course.course import markdown
from tff_course.course.arms import Arm
from tff_course.course.experiment import CourseExperiment
from tff_course.course.fedsgd_runs import first_reached
from tff_course.course.figures import accuracy_histogram, arm_curves, new_figure, saved_image
from tff_course.course.questions import (MEASURED, SEED_ERRORS, Answer,
                                         difference_standard_error, mean_and_error,
                                         plus_minus)
from tff_course.course.results import Results
from tff_course.course.seed_groups import (accuracy_cell, by_group, mean_curve,
                                           method_seed_arms, seed_key, seed_of)
from tff_course.course.settings import FULL
from tff_course.experiment.client_accuracy import ClientAccuracy, evaluate_clients
from tff_course.experiment.config import DataConfig, ExperimentConfig, TrainConfig

DATASET = "leaf_shakespeare"
MODEL = "shakespeare_lstm_lm"
LEAF_PAPER_SPLIT: Mapping[str, object] = {"fraction": 0.05, "min_samples": 64,
                                          "train_fraction": 0.9, "sampling_seed": 7}
USERS = 32
TEST_WINDOWS = 1500
CLIENTS = 2
LOCAL_STEPS = 96
BATCH = 32
CLIENT_LR = 0.015
CENTRAL_LR = 0.01
SCHEDULE = "cosine"
ROUNDS = 12
CENTRAL_ROUNDS = 6
EVAL_EVERY = 3
FULL_CLIENTS = 10
FULL_ROUNDS = 100
FULL_EVAL_EVERY = 10
TARGET_ACCURACY = 0.40
SEEDS = (0, 1)
FULL_SEEDS = (0, 1, 2)
METHODS: Dict[str, Tuple[str, str]] = {
    "fedavg-natural": ("FedAvg, natural clients (one per character)", "natural"),
    "fedavg-iid": (f"FedAvg, the same windows dealt IID to {USERS} clients", "iid"),
    "centralized": ("centralized (the same windows a round)", "natural"),
}


def _data(partition: str, users: int, test_windows: int) -> DataConfig:
  options = {**LEAF_PAPER_SPLIT, "test_windows": test_windows}
  return DataConfig(dataset=DATASET, options=options, partition=partition,
                    num_clients=users)


def _train(algorithm: str, *, lr: float, steps: int, rounds: int, clients: float,
           eval_every: int, seed: int) -> TrainConfig:
  return TrainConfig(model=MODEL, algorithm=algorithm, client_optimizer="adam",
                     client_lr=lr, lr_schedule=SCHEDULE, epochs=None, steps=steps,
                     batch_size=BATCH, rounds=rounds, client_fraction=clients,
                     eval_every=eval_every, checkpoint_every=eval_every, seed=seed)


def arms(setting: str) -> List[Arm]:
  """The natural, IID and centralized arms for every seed; the IID arm deals the windows
  to as many clients as the split has users (USERS); by default the centralized arm
  stops at CENTRAL_ROUNDS."""
  full = setting == FULL
  clients = FULL_CLIENTS if full else CLIENTS
  every = FULL_EVAL_EVERY if full else EVAL_EVERY
  test_windows = 0 if full else TEST_WINDOWS

  def config(key: str, method: str, seed: int) -> ExperimentConfig:
    if method == "centralized":
      train = _train("centralized", lr=CENTRAL_LR, steps=clients * LOCAL_STEPS,
                     rounds=FULL_ROUNDS if full else CENTRAL_ROUNDS, clients=1.0,
                     eval_every=every, seed=seed)
    else:
      train = _train("fedavg", lr=CLIENT_LR, steps=LOCAL_STEPS,
                     rounds=FULL_ROUNDS if full else ROUNDS, clients=clients / USERS,
                     eval_every=every, seed=seed)
    return ExperimentConfig(name=key, data=_data(METHODS[method][1], USERS, test_windows),
                            train=train)

  return method_seed_arms(METHODS, FULL_SEEDS if full else SEEDS, config)


def accuracy_at(results: Results, key: str, round_num: int) -> float:
  """The arm's test accuracy evaluated at `round_num` (NaN when it was not)."""
  columns = results.metrics(key)
  found = np.flatnonzero(columns["round"] == round_num)
  return float(columns["test_accuracy"][found[0]]) if len(found) else float("nan")


def seeds_run(results: Results) -> List[int]:
  """The seeds the experiment ran (those of its natural FedAvg arms)."""
  return [seed_of(key) for key in by_group(results)["fedavg-natural"]]


def _mean_curves(results: Results) -> str:
  figure, axes = new_figure(2, figsize=(10, 3.6))
  for method, keys in by_group(results).items():
    for axis, x, scale in zip(axes, ("round", "wall_seconds"), (1.0, 60.0)):
      xs, accuracy = mean_curve(results, keys, x)
      axis.plot(xs / scale, 100 * accuracy, marker="o", markersize=3,
                label=METHODS[method][0])
  axes[0].set_xlabel("round (the same windows a round in every arm)")
  axes[1].set_xlabel("training time (minutes, this machine)")
  for axis in axes:
    axis.axhline(100 * TARGET_ACCURACY, color="grey", linestyle=":", linewidth=1)
    axis.set_ylabel("test accuracy (%, mean over seeds)")
    axis.legend(fontsize=8)
  figure.suptitle("LEAF Shakespeare: next-character test accuracy against rounds and "
                  "training time", fontsize=9)
  figure.tight_layout()
  return saved_image(results, figure, "accuracy-minutes.png",
                     "mean test accuracy over seeds against rounds and training minutes")


def first_round_reaching(results: Results, key: str, accuracy: float) -> Optional[int]:
  """The first evaluated round at which the arm's test accuracy reached `accuracy`."""
  columns = results.metrics(key)
  index = first_reached(columns, accuracy)
  return None if index is None else int(columns["round"][index])


def _reached_cell(results: Results, keys: List[str]) -> str:
  rounds = [first_round_reaching(results, key, TARGET_ACCURACY) for key in keys]
  return ", ".join("-" if found is None else str(found) for found in rounds)


def _mean_upload(summaries) -> str:
  uploads = [summary.bytes_up for summary in summaries]
  return markdown.megabytes(None if None in uploads else float(np.mean(uploads)))


def _rows(results: Results) -> List[List[str]]:
  rows = []
  for method, keys in by_group(results).items():
    summaries = [results.summary(key) for key in keys]
    rows.append([METHODS[method][0], accuracy_cell(results, keys),
                 markdown.percent(float(np.mean([s.best_test_accuracy for s in summaries]))),
                 _reached_cell(results, keys),
                 f"{np.mean([s.seconds for s in summaries]) / 60:.1f}",
                 _mean_upload(summaries)])
  return rows


def pooled(scores: List[ClientAccuracy]) -> ClientAccuracy:
  """Per user, the correct predictions and windows summed over runs on the same split:
  each user's accuracy averaged over the runs."""
  for score in scores[1:]:
    if not np.array_equal(score.clients, scores[0].clients):
      raise ValueError("pooled: the runs scored different users; expected one test split")
  return ClientAccuracy(scores[0].clients, np.sum([s.correct for s in scores], axis=0),
                        np.sum([s.examples for s in scores], axis=0))


def user_accuracy(results: Results) -> Dict[str, ClientAccuracy]:
  """Every finished run's final model scored on every user's own test windows, pooled
  over a method's seeds (method -> ClientAccuracy)."""
  from tff_course.experiment.federation import load_config_dataset
  from tff_course.experiment.records import MODEL_WEIGHTS
  from tff_course.models import build_model

  config = results.arms[0].config
  dataset = load_config_dataset(config, data_dir=results.data_dir)
  model = build_model(config.train.model, dataset.test.x.shape[1:], dataset.num_classes)
  scored = {}
  for method, keys in by_group(results).items():
    scores = []
    for key in keys:
      path = os.path.join(results.path(key), MODEL_WEIGHTS)
      if os.path.isfile(path):
        model.load_weights(path)
        scores.append(evaluate_clients(model, dataset.test, dataset.modality))
    if scores:
      scored[method] = pooled(scores)
  return scored


def _user_section(results: Results) -> List[str]:
  scored = user_accuracy(results)
  rows = [[METHODS[method][0], str(len(s.clients)), markdown.percent(s.mean()),
           markdown.percent(s.percentile(10)), markdown.percent(float(s.accuracies.min()))]
          for method, s in scored.items()]
  return ["## Each user's own test windows (the final models)",
          "A user's accuracy is over their test windows and every seed's final model.",
          markdown.table(["arm", "users", "mean over users", "10th percentile", "lowest"],
                         rows),
          accuracy_histogram(results, {METHODS[m][0]: s for m, s in scored.items()},
                             "user-accuracy.png",
                             "histogram of the users' test accuracy, by arm")]


def report(results: Results) -> List[str]:
  natural = by_group(results)["fedavg-natural"]
  windows = int(results.metrics(natural[0])["examples"][0])
  return [
      "## Curves (equal windows a round)",
      arm_curves(results, [arm.key for arm in results.arms], "curves.png",
                 f"LEAF Shakespeare, {windows:,} windows a round in every run"),
      _mean_curves(results),
      "## Result (mean +- s.e. over seeds)",
      markdown.table(["arm", "final test accuracy", "best",
                      f"first round at {TARGET_ACCURACY:.0%} (each seed)", "minutes",
                      "uploaded"], _rows(results))] + _user_section(results)


def _difference(results: Results, first: str, second: str, round_num: int) -> str:
  """Method first's test accuracy at `round_num` minus second's, paired by seed: the mean
  +- its standard error over seeds (with one seed, the test set's)."""
  seeds = seeds_run(results)
  a = [accuracy_at(results, seed_key(first, seed), round_num) for seed in seeds]
  b = [accuracy_at(results, seed_key(second, seed), round_num) for seed in seeds]
  if len(seeds) > 1:
    difference, error = mean_and_error(np.subtract(a, b))
  else:
    difference = a[0] - b[0]
    error = difference_standard_error(a[0], b[0],
                                      results.test_size(seed_key(first, seeds[0])))
  return (f"At round {round_num}: {plus_minus(difference, error)} ({METHODS[first][0]}: "
          f"{markdown.percent(float(np.mean(a)))}; {METHODS[second][0]}: "
          f"{markdown.percent(float(np.mean(b)))}; means over {len(seeds)} seed"
          f"{'s' if len(seeds) > 1 else ''})")


def _target_answer(results: Results) -> str:
  parts = []
  for seed in seeds_run(results):
    key = seed_key("fedavg-natural", seed)
    summary = results.summary(key)
    reached = first_round_reaching(results, key, TARGET_ACCURACY)
    parts.append((f"seed {seed}: yes, at round {reached} of {summary.rounds}" if reached
                  else f"seed {seed}: no, not in {summary.rounds} round"
                  f"{'s' if summary.rounds > 1 else ''}") +
                 f" ({markdown.percent(summary.test_accuracy)} at the end, "
                 f"{summary.seconds / 60:.1f} min of training)")
  return "; ".join(parts) + "."


def questions(results: Results) -> List[Answer]:
  seed = seeds_run(results)[0]
  natural = results.summary(seed_key("fedavg-natural", seed)).rounds
  central = results.summary(seed_key("centralized", seed)).rounds
  return [
      Answer(f"Does FedAvg on LEAF's natural clients reach {TARGET_ACCURACY:.0%} "
             "next-character test accuracy?", _target_answer(results), MEASURED),
      Answer("What does the natural (non-IID) split cost against IID clients holding the "
             "same windows?",
             _difference(results, "fedavg-natural", "fedavg-iid", natural) + ".", MEASURED),
      Answer("What does federation cost against one model trained on as many windows?",
             _difference(results, "fedavg-natural", "centralized", central) + ".",
             MEASURED),
  ]


EXPERIMENT = CourseExperiment(
    name="shakespeare",
    title="LEAF Shakespeare: centralized, FedAvg over natural clients, FedAvg over IID "
          "clients",
    description=(
        "LEAF's paper split of its Shakespeare benchmark (5 % of the windows sampled by "
        "user, users with at least 64 windows, each user's first 90 % train): 32 speaking "
        "characters. The character LSTM trains with local Adam as a language model and is "
        f"scored on the character after each window. FedAvg samples {CLIENTS} clients a "
        f"round, each taking {LOCAL_STEPS} Adam steps of {BATCH} windows (lr {CLIENT_LR:g}, "
        f"{SCHEDULE} over the rounds), for {ROUNDS} rounds; the IID arm deals the same "
        "training windows evenly to 32 clients; the centralized arm takes "
        f"{CLIENTS * LOCAL_STEPS} batches a round (lr {CENTRAL_LR:g}, {SCHEDULE}) for "
        f"{CENTRAL_ROUNDS} rounds. Test: {TEST_WINDOWS:,} of the split's 17,886 test "
        f"windows, the same for every arm. Every arm runs with seeds "
        f"{', '.join(map(str, SEEDS))}."),
    duration="26 min measured from a clean clone (2 seeds, 12 rounds; 42.3 and 44.5 % on "
             "the natural clients); --full: 10 clients a round, 100 rounds, the whole test "
             "split, 3 seeds, est. 32 h",
    arms=arms, report=report, questions=questions, errors=SEED_ERRORS,
    assignment=(
        "The course runs FedAvg on LEAF's Shakespeare with the character LSTM. McMahan et "
        "al. report 54 % after thousands of rounds; the default here is sized to finish "
        "in 30 minutes on 2 cores, --full runs 10 clients a round for 100 rounds."))
