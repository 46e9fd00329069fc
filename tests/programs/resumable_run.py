"""Runs a small synthetic FedAvg experiment; with a second argument, SIGKILLs itself
right after that round (metrics released, checkpoint possibly written); with a third,
"before-tensorboard", instead right after the checkpoint that covers that round, before
its rounds reach TensorBoard."""

import os
import signal
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from tff_course.experiment.config import (DataConfig, ExperimentConfig,  # pylint: disable=wrong-import-position
                                          TrainConfig)
from tff_course.experiment.releases import MetricReleases  # pylint: disable=wrong-import-position
from tff_course.experiment.runner import run_experiment  # pylint: disable=wrong-import-position

CONFIG = ExperimentConfig(
    name="resume-test", data=DataConfig(dataset="synthetic", partition="natural"),
    train=TrainConfig(model="logistic", rounds=6, client_fraction=0.34, checkpoint_every=2,
                      client_lr=0.01, seed=7))


def main(run_dir: str, kill_after: int, before_tensorboard: bool) -> None:
  def maybe_die(round_num):
    if round_num == kill_after:
      os.kill(os.getpid(), signal.SIGKILL)

  if before_tensorboard:
    commit = MetricReleases.commit

    def commit_or_die(releases):
      if any(round_num == kill_after for _, round_num in releases._uncommitted):  # pylint: disable=protected-access
        os.kill(os.getpid(), signal.SIGKILL)
      commit(releases)

    MetricReleases.commit = commit_or_die
  run_experiment(CONFIG, run_dir, progress=False,
                 on_round_end=None if before_tensorboard else maybe_die)


if __name__ == "__main__":
  main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 0,
       len(sys.argv) > 3 and sys.argv[3] == "before-tensorboard")
