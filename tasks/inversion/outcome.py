"""What an attack returns: the recovered images and labels, how the optimisation went,
and one record per attempt when failed attempts were restarted."""

from __future__ import annotations

import dataclasses
import enum
from typing import List, Tuple

import numpy as np


class Status(enum.Enum):
  FINISHED = "finished"
  STALLED = "stalled"
  DIVERGED = "diverged"


@dataclasses.dataclass(frozen=True)
class Attempt:
  """One run of an attack from one dummy draw.

  Attributes:
    seed: the entropy of the dummy's draw (`numpy.random.default_rng(seed)`).
    status, steps, evaluations, seconds: as in `AttackResult`, for this attempt.
    objective: the attack's objective at the attempt's final images (inf when not
      finite).
    relative_objective: `objective` over the squared norm of the shared gradient (DLG,
      iDLG; NaN for Inverting Gradients, whose objective is a cosine distance).
    failure: why the restart policy judged the attempt failed; "" when it did not.
  """

  seed: Tuple[int, ...]
  status: Status
  steps: int
  evaluations: int
  seconds: float
  objective: float
  relative_objective: float
  failure: str

  def to_dict(self) -> dict:
    return dict(dataclasses.asdict(self), seed=list(self.seed), status=self.status.value)


@dataclasses.dataclass
class AttackResult:
  """What an attack recovered and how the optimisation went.

  `images` are the raw dummy images (DLG does not keep them in [0, 1]); `snapshots`
  pairs an iteration count with the images at that point; `losses` holds the
  objective before each step; `objective` is the objective at `images`. With
  restarts, images, labels, snapshots, losses, status, message, steps and objective
  are the kept attempt's (`attempts[kept]`), while `evaluations` and `seconds` add up
  every attempt.
  """

  images: np.ndarray
  labels: np.ndarray
  snapshots: List[Tuple[int, np.ndarray]]
  losses: List[float]
  status: Status
  message: str
  steps: int
  evaluations: int
  seconds: float
  objective: float = float("nan")
  attempts: List[Attempt] = dataclasses.field(default_factory=list)
  kept: int = 0
