"""The CIFAR-10 configs the course experiments share: IID devices with the small
ConvNet, and the single device holding 10 % of the training set."""

from __future__ import annotations

from typing import Optional

from tff_course.experiment.config import DataConfig, ExperimentConfig, TrainConfig

DEVICES = 100
EXAMPLES_PER_DEVICE = 500
DEVICE_PCT = 0.1
SINGLE_DEVICE_EXAMPLES = 5000
MODEL = "cifar_convnet"
CLIENT_LR = 0.05
BATCH_SIZE = 20


def fedavg_iid(name: str, *, rounds: int, epochs: int = 1, aggregator: str = "mean",
               quant_bits: int = 32) -> ExperimentConfig:
  """FedAvg over 100 IID devices of 500 images, 10 % of them per round."""
  return ExperimentConfig(
      name=name,
      data=DataConfig(dataset="cifar10", partition="iid", num_clients=DEVICES,
                      samples_per_client=EXAMPLES_PER_DEVICE),
      train=TrainConfig(model=MODEL, algorithm="fedavg", client_lr=CLIENT_LR,
                        batch_size=BATCH_SIZE, epochs=epochs, rounds=rounds,
                        client_fraction=DEVICE_PCT, aggregator=aggregator,
                        quant_bits=quant_bits, checkpoint_every=10))


def centralized(name: str, *, examples: Optional[int], epochs: int, lr: float = CLIENT_LR,
                momentum: Optional[float] = None, batch_size: int = BATCH_SIZE,
                lr_schedule: str = "constant", warmup_epochs: int = 0) -> ExperimentConfig:
  """One model trained on `examples` IID training images (None: all), an epoch a round."""
  return ExperimentConfig(
      name=name,
      data=DataConfig(dataset="cifar10", partition="iid", num_clients=1,
                      samples_per_client=examples),
      train=TrainConfig(model=MODEL, algorithm="centralized", client_lr=lr,
                        client_momentum=momentum, batch_size=batch_size, rounds=epochs,
                        lr_schedule=lr_schedule, warmup_rounds=warmup_epochs,
                        client_fraction=1.0))
