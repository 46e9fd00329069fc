"""One check for a hyperparameter that must be a real number inside an interval."""

from __future__ import annotations

import numbers

from tff_course.errors import ConfigError


def check_range(name: str, value, low: float, high: float, *, upper_open: bool,
                lower_open: bool = False) -> float:
  """`value` as a float if it is a real number in [low, high] (open ends as given).

  Raises:
    ConfigError: one line naming `name`, the value and the interval.
  """
  inside = (isinstance(value, numbers.Real) and not isinstance(value, bool)
            and (low < value if lower_open else low <= value)
            and (value < high if upper_open else value <= high))
  if not inside:
    left, right = "(" if lower_open else "[", ")" if upper_open else "]"
    raise ConfigError(f"{name}: got {value!r}, expected a number in {left}{low:g}, "
                      f"{high:g}{right}")
  return float(value)


def check_integer(name: str, value, low: int) -> int:
  """`value` if it is an integer >= low (not a bool), else one line naming `name`."""
  if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < low:
    raise ConfigError(f"{name}: got {value!r}, expected an integer >= {low}")
  return int(value)
