"""Ready-made configs: the demo, on synthetic data or on MNIST; sparse FedAvg from a
prepared pre-trained model."""

from __future__ import annotations

import os
from typing import Dict, Optional

from tff_course.experiment.config import DataConfig, ExperimentConfig, TrainConfig


def demo_config(dataset: str = "synthetic") -> ExperimentConfig:
  """FedAvg on FedProx's Synthetic(1, 1) with logistic regression (30 devices, 10 per
  round, E = 1, B = 10, 40 rounds), or on MNIST with McMahan's CNN (100 IID clients of
  600, C = 0.1, E = 1, B = 10, 10 rounds)."""
  if dataset == "mnist":
    return ExperimentConfig(
        name="demo-mnist",
        data=DataConfig(dataset="mnist", partition="iid", num_clients=100,
                        samples_per_client=600),
        train=TrainConfig(model="mnist_cnn", algorithm="fedavg", client_lr=0.05,
                          batch_size=10, epochs=1, rounds=10, client_fraction=0.1,
                          checkpoint_every=5))
  return ExperimentConfig(
      name="demo-synthetic",
      data=DataConfig(dataset="synthetic", options={"alpha": 1.0, "beta": 1.0},
                      partition="natural"),
      train=TrainConfig(model="logistic", algorithm="fedavg", client_lr=0.01, batch_size=10,
                        epochs=1, rounds=40, client_fraction=0.34, checkpoint_every=10))


def sparse_fedavg_config(summary: Dict, out_dir: str, data_dir: Optional[str] = None, *,
                        name: str = "sparse-fedavg", **train) -> ExperimentConfig:
  """Sparse FedAvg from the preparation in `out_dir` (tff_course.sparse.prepare, whose
  `summary` it is): K = 100 IID clients, C = 0.1, J = 4 local steps of B = 32, SGDM 0.9;
  `train` overrides fields."""
  from tff_course.sparse.prepare import INIT_WEIGHTS, MASKS

  fields = dict(model=summary["run_model"], algorithm="sparse_fedavg",
                masks=os.path.abspath(os.path.join(out_dir, MASKS)),
                init_weights=os.path.abspath(os.path.join(out_dir, INIT_WEIGHTS)),
                client_lr=0.01, client_momentum=0.9, epochs=None, steps=4, batch_size=32,
                rounds=50, client_fraction=0.1, eval_every=5, checkpoint_every=5,
                seed=summary["settings"]["seed"])
  fields.update(train)
  return ExperimentConfig(
      name=name,
      data=DataConfig(dataset=summary["settings"]["dataset"], data_dir=data_dir,
                      partition="iid", num_clients=100,
                      limit=summary["settings"].get("limit")),
      train=TrainConfig(**fields))
