"""L-BFGS's settings (`lbfgs.py` runs it): PyTorch's `torch.optim.LBFGS` arguments."""

from __future__ import annotations

import dataclasses
from typing import Optional

from tff_course.errors import ConfigError

LINE_SEARCHES = (None, "strong_wolfe")


@dataclasses.dataclass(frozen=True)
class LbfgsConfig:
  """PyTorch's LBFGS arguments (its defaults, with DLG's history of 100);
  `line_search` is its `line_search_fn`: None or "strong_wolfe"."""

  learning_rate: float = 1.0
  max_iter: int = 20
  history_size: int = 100
  tolerance_grad: float = 1e-7
  tolerance_change: float = 1e-9
  line_search: Optional[str] = None

  def __post_init__(self):
    if self.line_search not in LINE_SEARCHES:
      raise ConfigError(f"lbfgs.line_search: got {self.line_search!r}, expected None or "
                        f"'strong_wolfe'")
    for name in ("learning_rate", "tolerance_grad", "tolerance_change"):
      value = getattr(self, name)
      if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise ConfigError(f"lbfgs.{name}: got {value!r}, expected a number >= 0")
    for name in ("max_iter", "history_size"):
      value = getattr(self, name)
      if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"lbfgs.{name}: got {value!r}, expected a whole number >= 1")

  @property
  def max_eval(self) -> int:
    return self.max_iter * 5 // 4
