"""The experiment loop: sample, train a round, evaluate, release metrics, checkpoint.

Metrics go through TFF's program release managers (a CSV file and TensorBoard) and
the state through TFF's file program state manager, so a run killed at any moment
resumes from its last checkpoint when the same command runs again, and ends with the
metrics an uninterrupted run would have: the sampling, the client data order and the
initial model all derive from (seed, round), never from how far a process got.
"""

from __future__ import annotations

import math
import os
import shutil
import sys
import time
from typing import Callable, Dict, Optional

from tff_course.aggregators.bits import sent_bytes
from tff_course.algorithms.dropped import clients_dropped
from tff_course.algorithms.evaluation import evaluate_weights, mean_losses
from tff_course.errors import TffCourseError, WorkerError
from tff_course.experiment.client_accuracy import evaluate_clients, evaluate_personal
from tff_course.experiment.client_choice import CandidateLosses
from tff_course.experiment.client_states import KEEP_MANIFESTS, ClientStateStore, open_store
from tff_course.experiment.config import ExperimentConfig
from tff_course.experiment.federation import (Federation, build_federation, build_process,
                                              initial_weights, model_bytes)
from tff_course.experiment.centralized import run_centralized
from tff_course.experiment.records import (CHECKPOINTS_DIR, check_resumable,
                                           last_checkpoint_round, record_run,
                                           save_model_weights)
from tff_course.experiment.releases import MetricReleases
from tff_course.runtime.coroutines import run_coroutine
from tff_course.runtime.worker_set import worker_set


CLIENT_RECORDS_DIR = "client-records"


class TrainingDiverged(TffCourseError):
  """The training loss became NaN or infinite."""


def run_experiment(config: ExperimentConfig, run_dir: str, *, data_dir: Optional[str] = None,
                   progress: bool = True,
                   on_round_end: Optional[Callable[[int], None]] = None) -> Dict[str, float]:
  """Runs (or resumes) one experiment into `run_dir`; returns the last round's metrics.

  `on_round_end(round_num)` is called after each round's metrics and checkpoint are
  written (a hook for tests and notebooks).

  Raises:
    ConfigError: `run_dir` holds a run of a different config.
    TrainingDiverged: the loss became NaN (the last good checkpoint is kept).
    WorkerError: a TFF worker stopped or stopped answering (the last checkpoint is kept).
  """
  from tff_course.runtime.context import using_workers

  resuming = check_resumable(run_dir, config)
  records_dir = os.path.join(run_dir, CLIENT_RECORDS_DIR)
  if resuming and last_checkpoint_round(run_dir) >= config.train.rounds:
    shutil.rmtree(records_dir, ignore_errors=True)
    return last_metrics(run_dir)
  try:
    with using_workers(worker_set(config.train.workers)), \
        build_federation(config, data_dir=data_dir, records_dir=records_dir) as federation:
      os.makedirs(run_dir, exist_ok=True)
      return _run(federation, run_dir, resuming, progress, on_round_end)
  except WorkerError as error:
    if not last_checkpoint_round(run_dir):
      raise WorkerError(f"{error}; stopped before the run's first checkpoint: run the same "
                        f"command again once the workers answer") from None
    raise WorkerError(f"{error}; stopped. The last checkpoint is kept in "
                      f"{os.path.join(run_dir, CHECKPOINTS_DIR)}: run the same command "
                      f"again to resume") from None


def _run(federation: Federation, run_dir: str, resuming: bool, progress: bool,
         on_round_end: Optional[Callable[[int], None]]) -> Dict[str, float]:
  from tff_course.runtime.tff_module import tff

  config = federation.config
  if config.train.algorithm == "centralized":
    record_run(run_dir, config)
    return (run_centralized(federation, run_dir, MetricReleases(run_dir), progress=progress,
                            on_round_end=on_round_end) or last_metrics(run_dir))
  process = build_process(federation)
  state = process.set_model_weights(process.initialize(), initial_weights(federation))
  checkpoints = tff.program.FileProgramStateManager(os.path.join(run_dir, CHECKPOINTS_DIR),
                                                    keep_total=KEEP_MANIFESTS)
  states = _client_states(federation, run_dir, process)
  done = 0
  if resuming:
    loaded, done = run_coroutine(checkpoints.load_latest(state))
    state = loaded if loaded is not None else state
  if states is not None:
    states.restore(done)
  record_run(run_dir, config)
  releases = MetricReleases(run_dir)
  releases.recover(done)
  loop = _RoundLoop(federation, process, run_dir, on_round_end, states)
  return loop.run(state, done, checkpoints, releases, progress) or last_metrics(run_dir)


def _client_states(federation: Federation, run_dir: str,
                   process) -> Optional[ClientStateStore]:
  """The run's client-state store when its algorithm keeps state on clients (SCAFFOLD's
  controls, Ditto's, FedPer's and FedBN's personal parts), else None."""
  if not hasattr(process, "initial_client_state"):
    return None
  config = federation.config
  identity = {"kind": f"{config.train.algorithm} client states", "run": config.name,
              "dataset": config.data.dataset, "partition": config.data.partition,
              "clients": len(federation.devices), "seed": config.train.seed,
              "shapes": [list(shape) for shape in process.client_state_shapes]}
  return open_store(run_dir, identity, process.initial_client_state)


def last_metrics(run_dir: str) -> Dict[str, float]:
  """The last recorded round's metrics (for a run that had nothing left to do)."""
  from tff_course.experiment.metrics_file import read_metrics

  columns = read_metrics(run_dir)
  return {name: float(values[-1]) for name, values in columns.items()
          if name != "round" and math.isfinite(values[-1])}


class _RoundLoop:
  """Runs rounds `done + 1 .. config.train.rounds`."""

  def __init__(self, federation: Federation, process, run_dir: str, on_round_end=None,
               states: Optional[ClientStateStore] = None):
    self.on_round_end = on_round_end
    self.states = states
    self.federation = federation
    self.process = process
    self.run_dir = run_dir
    self.train = federation.config.train
    self.keras_model = federation.keras_model

  def run(self, state, done: int, checkpoints, releases, progress: bool) -> Dict[str, float]:
    from tqdm.auto import tqdm

    metrics: Dict[str, float] = {}
    bar = tqdm(total=self.train.rounds, initial=done, unit="round", disable=not progress,
               file=sys.stderr, desc=self.federation.config.name, dynamic_ncols=True)
    try:
      for round_num in range(done + 1, self.train.rounds + 1):
        state, metrics = self.round(state, round_num)
        self.check_finite(metrics, round_num)
        releases.release(metrics, round_num)
        if round_num % self.train.checkpoint_every == 0 or round_num == self.train.rounds:
          if self.states is not None:
            self.states.commit(round_num)
          run_coroutine(checkpoints.save(state, round_num))
          releases.commit()
        bar.set_postfix(_postfix(metrics), refresh=False)
        bar.update(1)
        if self.on_round_end is not None:
          self.on_round_end(round_num)
      if done < self.train.rounds:
        self.process.get_model_weights(state).assign_weights_to(self.keras_model)
        save_model_weights(self.keras_model, self.run_dir)
    finally:
      bar.close()
    return metrics

  def check_finite(self, metrics: Dict[str, float], round_num: int) -> None:
    """Raises TrainingDiverged when the round's training loss is NaN or infinite, or
    every client's update was (then none was aggregated and the loss counts none)."""
    dropped, clients = metrics["clients_dropped"], metrics["clients"]
    if math.isfinite(metrics["train_loss"]) and dropped < clients:
      return
    cause = (f"every client's update was NaN or infinite ({dropped} of {clients} dropped)"
             if dropped == clients else f"the training loss is {metrics['train_loss']}")
    raise TrainingDiverged(
        f"round {round_num}: {cause}; stopped. The "
        f"last good checkpoint is kept in {os.path.join(self.run_dir, 'checkpoints')}; "
        f"lower train.client_lr (now {self.train.client_lr}) and run again in a new "
        f"--out")

  def round(self, state, round_num: int):
    start = time.perf_counter()
    chosen = self.federation.sample(round_num, self.candidate_losses(state))
    data = self.federation.client_data(chosen, round_num)
    output = self.next_round(state, data, chosen, round_num)
    train = output.metrics["client_work"]["train"]
    weights = self.process.get_model_weights(output.state)
    size = model_bytes(weights)
    metrics = {
        "train_loss": float(train["loss"]), "train_accuracy": float(train["accuracy"]),
        "clients": len(chosen), "examples": int(train["num_examples"]),
        "messages_down": len(chosen), "messages_up": len(chosen),
        "bytes_down": size * len(chosen),
        "bytes_up": sent_bytes(output.metrics["aggregator"]["bits_up"], len(data),
                               len(chosen)),
        "clients_dropped": clients_dropped(output.metrics),
    }
    metrics.update(self.candidate_traffic(metrics, size))
    if round_num % self.train.eval_every == 0 or round_num == self.train.rounds:
      metrics.update(self.evaluate(weights))
    metrics["seconds"] = time.perf_counter() - start
    return output.state, metrics

  def next_round(self, state, data, chosen, round_num: int):
    """The process's round; with a client-state store, the chosen clients' states go in
    and their new ones are stored."""
    if self.states is None:
      return self.process.next(state, data)
    positions = [self.federation.position(device) for device in chosen]
    output = self.process.next(state, data, [self.states.get(p) for p in positions])
    for position, client_state in zip(positions, output.client_states):
      self.states.put(position, client_state, round_num)
    return output

  def candidate_losses(self, state) -> Optional[CandidateLosses]:
    """Power-of-choice's candidates' losses on their own training data under the
    round's server model (None without power-of-choice)."""
    federation = self.federation
    if federation.choice is None or federation.choice.candidates is None:
      return None

    def losses(positions):
      self.process.get_model_weights(state).assign_weights_to(self.keras_model)
      train = federation.dataset.train
      return mean_losses(self.keras_model, train.x, train.y,
                         [federation.devices[p].indices for p in positions],
                         federation.dataset.modality)
    return losses

  def candidate_traffic(self, metrics: Dict[str, float], size: int) -> Dict[str, int]:
    """With power-of-choice, the round's traffic counting the d candidates: each
    downloads the model and sends its loss (a float32); those kept then send updates."""
    choice = self.federation.choice
    if choice is None or choice.candidates is None:
      return {}
    d = choice.candidates
    return {"candidates": d, "messages_down": d, "bytes_down": size * d,
            "messages_up": metrics["clients"] + d, "bytes_up": metrics["bytes_up"] + 4 * d}

  def evaluate(self, weights) -> Dict[str, float]:
    dataset = self.federation.dataset
    test = dataset.test
    result = {f"test_{k}": v for k, v in evaluate_weights(
        self.keras_model, weights, test.x, test.y, dataset.modality).items()}
    for group, indices in (self.federation.group_test or {}).items():
      scores = evaluate_weights(self.keras_model, weights, test.x[indices], test.y[indices],
                                dataset.modality)
      result[f"test_group_{group}_accuracy"] = scores["accuracy"]
    if self.federation.client_test is not None:
      weights.assign_weights_to(self.keras_model)
      scored = evaluate_clients(self.keras_model, self.federation.client_test,
                                dataset.modality)
      result["client_accuracy_mean"] = scored.mean()
      result["client_accuracy_p10"] = scored.percentile(10)
      result.update(self.personal_accuracy(weights))
    return result

  def personal_accuracy(self, weights) -> Dict[str, float]:
    """With personal models (Ditto, FedPer, FedBN), each client's held-out accuracy under
    its own: their mean and 10th percentile over clients ({} for other algorithms)."""
    if self.states is None or not hasattr(self.process, "personal_weights"):
      return {}
    federation = self.federation
    positions = {device.id: federation.position(device) for device in federation.devices}
    scored = evaluate_personal(
        self.keras_model, federation.client_test, federation.dataset.modality,
        lambda client: self.process.personal_weights(self.states.get(positions[client]),
                                                     weights.trainable, weights.non_trainable))
    return {"personal_accuracy_mean": scored.mean(),
            "personal_accuracy_p10": scored.percentile(10)}


def _postfix(metrics: Dict[str, float]) -> Dict[str, str]:
  shown = {"loss": f"{metrics['train_loss']:.3f}"}
  if "test_accuracy" in metrics:
    shown["test_acc"] = f"{metrics['test_accuracy']:.3f}"
  return shown
