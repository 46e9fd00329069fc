"""The configs of course arms that fine-tune the pre-trained ResNet-20 on a new task: sparse
FedAvg (SparseSGDM clients under masks) or centralized fine-tuning, from a preparation."""

from __future__ import annotations

from typing import Optional

from tff_course.course.preparation import Preparation
from tff_course.experiment.config import DataConfig, ExperimentConfig, TrainConfig
from tff_course.sparse.prepare import PrepareSettings

CLIENTS = 100
LR = 0.01
MOMENTUM = 0.9
BATCH = 32
HEAD_EXAMPLES = 5000
CALIBRATION_EXAMPLES = 512


def preparation(key: str, dataset: str, *, rule: str = "least_sensitive", density: float = 0.1,
                rounds: int = 4, seed: int = 0, federated: bool = False) -> Preparation:
  """A head fitted on HEAD_EXAMPLES and masks calibrated on CALIBRATION_EXAMPLES."""
  return Preparation(key, PrepareSettings(
      dataset=dataset, rule=rule, density=density, rounds=rounds, seed=seed,
      head_examples=HEAD_EXAMPLES, calibration_examples=CALIBRATION_EXAMPLES),
      federated=federated)


def dense_preparation(key: str, dataset: str, seed: int = 0) -> Preparation:
  """Every eligible weight open (no scores needed: a random rule at density 1)."""
  return preparation(key, dataset, rule="random", density=1.0, rounds=1, seed=seed)


def federated_config(key: str, prepared: Preparation, *, rounds: int, seed: int = 0,
                     steps: int = 4, partition: str = "iid",
                     classes_per_client: Optional[int] = None,
                     eval_every: Optional[int] = None,
                     momentum: float = MOMENTUM) -> ExperimentConfig:
  """Sparse FedAvg: K = CLIENTS (100) clients, C = 0.1, J `steps` of B = 32, SGDM lr 0.01
  (momentum 0.9 unless given)."""
  return ExperimentConfig(
      name=key, data=DataConfig(dataset=prepared.settings.dataset, partition=partition,
                                num_clients=CLIENTS, classes_per_client=classes_per_client),
      train=TrainConfig(model=prepared.settings.run_model, algorithm="sparse_fedavg",
                        client_lr=LR, client_momentum=momentum, epochs=None, steps=steps,
                        batch_size=BATCH, rounds=rounds, client_fraction=0.1,
                        eval_every=eval_every or max(rounds // 3, 1), checkpoint_every=5,
                        seed=seed, **prepared.train_fields()))


def centralized_config(key: str, prepared: Preparation, *, epochs: int, examples: int,
                       seed: int = 0, lr_schedule: str = "constant", lr: float = LR,
                       eval_every: int = 1) -> ExperimentConfig:
  """Fine-tuning with SparseSGDM on `examples` training examples drawn at random (one
  device's share), one epoch a round, measured on the whole test split every
  `eval_every` epochs and after the last."""
  return ExperimentConfig(
      name=key, data=DataConfig(dataset=prepared.settings.dataset, partition="iid",
                                num_clients=1, samples_per_client=examples),
      train=TrainConfig(model=prepared.settings.run_model, algorithm="centralized",
                        client_lr=lr, client_momentum=MOMENTUM, lr_schedule=lr_schedule,
                        batch_size=BATCH, rounds=epochs, eval_every=eval_every,
                        checkpoint_every=1,
                        seed=seed, **prepared.train_fields()))
