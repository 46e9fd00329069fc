"""Ready-made configs: the demo, on synthetic data or on MNIST."""

from __future__ import annotations

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
