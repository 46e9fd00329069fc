"""How much a client trains locally: E epochs or J steps over batches of B examples."""

from __future__ import annotations

import dataclasses
from typing import Optional

from tff_course.errors import ConfigError


@dataclasses.dataclass(frozen=True)
class LocalWork:
  """Local computation per round (McMahan et al.'s E and B, or a fixed step count J).

  Attributes:
    epochs: E, passes over the client's data (exclusive with `steps`).
    steps: J, local steps, cycling through the data as needed.
    batch_size: B; None means the full client dataset in one batch (B = all).
  """

  epochs: Optional[int] = 1
  steps: Optional[int] = None
  batch_size: Optional[int] = 10

  def __post_init__(self):
    if (self.epochs is None) == (self.steps is None):
      raise ConfigError(f"local work: give epochs or steps, not both or neither "
                        f"(got epochs={self.epochs}, steps={self.steps})")
    for name in ("epochs", "steps", "batch_size"):
      value = getattr(self, name)
      if value is not None and (isinstance(value, bool) or int(value) != value or value < 1):
        raise ConfigError(f"{name}: got {value!r}, expected a whole number >= 1")

  def apply(self, batched_dataset):
    """The client's training stream: its batches repeated E times, or the first J."""
    if self.steps is not None:
      return batched_dataset.repeat().take(self.steps)
    return batched_dataset.repeat(self.epochs) if self.epochs > 1 else batched_dataset
