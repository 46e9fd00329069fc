"""A gradient-inversion attack's settings (`attacks.py` runs the attacks)."""

from __future__ import annotations

import dataclasses
import enum

from tasks.inversion.checks import check_positive_int
from tasks.inversion.lbfgs_config import LbfgsConfig
from tff_course.errors import ConfigError


class Attack(enum.Enum):
  DLG = "dlg"
  IDLG = "idlg"
  IG = "ig"


@dataclasses.dataclass(frozen=True)
class AttackConfig:
  """An attack's settings.

  Attributes:
    attack: "dlg", "idlg" or "ig".
    iterations: L-BFGS steps (DLG, iDLG; each up to `lbfgs.max_iter` iterations) or
      Adam steps (Inverting Gradients).
    seed: the dummy initialisation's seed.
    snapshots: how many intermediate images to keep for the progress grid.
    learning_rate, tv_weight: Inverting Gradients' Adam step size and TV weight. The
      weight is for images in [0, 1]: on cifar_convnet 5e-2 gave 0.27-0.63 of the MSE
      of 1e-4 on each of eight CIFAR-10 images (benchmarks/RESULTS.md).
    lbfgs: the L-BFGS arguments (DLG, iDLG).
    jit_compile: compile the optimiser step with XLA (about twice as fast on CPU).
    restarts: DLG, iDLG: how many failed attempts are re-run from a fresh dummy
      (`restarts.py`); Inverting Gradients runs once.
    restart_distance: an attempt failed when its final gradient distance exceeds this
      fraction of the shared gradient's squared norm.
    dummy_bound: an attempt failed when a value of its dummy image ends outside
      [-dummy_bound, dummy_bound] (images are in [0, 1]).
  """

  attack: str = "dlg"
  iterations: int = 300
  seed: int = 0
  snapshots: int = 10
  learning_rate: float = 0.1
  tv_weight: float = 5e-2
  lbfgs: LbfgsConfig = LbfgsConfig()
  jit_compile: bool = True
  restarts: int = 2
  restart_distance: float = 1e-4
  dummy_bound: float = 100.0

  def __post_init__(self):
    try:
      Attack(self.attack)
    except ValueError:
      raise ConfigError(f"attack: got {self.attack!r}, expected one of "
                        f"{', '.join(a.value for a in Attack)}") from None
    check_positive_int("iterations", self.iterations)
    check_positive_int("seed", self.seed, 0)
    check_positive_int("snapshots", self.snapshots)
    check_positive_int("restarts", self.restarts, 0)
    for name in ("learning_rate", "tv_weight", "restart_distance", "dummy_bound"):
      value = getattr(self, name)
      if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise ConfigError(f"{name}: got {value!r}, expected a number >= 0")
