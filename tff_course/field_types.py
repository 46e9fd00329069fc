"""A config field's value as its declared type, from Python or from JSON.

JSON has no integer keys and no tuples, and writes whole numbers as 3 or 3.0: `typed`
accepts those forms ("0" for the key 0, a list for a tuple, 3.0 for 3) and refuses the
rest, bools where numbers are declared, and infinities and NaN.
"""

from __future__ import annotations

import collections.abc
import math
import numbers
import typing
from typing import Any, Optional

from tff_course.errors import ConfigError


class _Mismatch(Exception):
  """The value, or a part of it, is not of the declared type."""

  def __init__(self, non_finite: bool = False):
    super().__init__()
    self.non_finite = non_finite


def typed(name: str, value: Any, annotation, expected: Optional[str] = None) -> Any:
  """`value` converted to `annotation` (int, float, str, Any, Optional, Mapping, Tuple).

  Raises:
    ConfigError: "NAME: got VALUE, expected TYPE" (`expected`, if given, describes the
      type); non-finite numbers are "expected a finite number".
  """
  try:
    return _convert(value, annotation)
  except _Mismatch as mismatch:
    scalar = mismatch.non_finite and isinstance(value, numbers.Real)
    wanted = "a finite number" if scalar else expected or describe(annotation)
    raise ConfigError(f"{name}: got {value!r}, expected {wanted}") from None


def describe(annotation) -> str:
  """How an error names the type, e.g. "a whole number or null"."""
  origin, args = typing.get_origin(annotation), typing.get_args(annotation)
  if origin is typing.Union:
    return f"{describe(_without_none(annotation))} or null"
  if origin is tuple:
    return f"a list of {_plural(describe(args[0]))}"
  if origin is collections.abc.Mapping:
    return f"an object of {_bare(describe(args[0]))}: {_bare(describe(args[1]))}"
  return {int: "a whole number", float: "a number", str: "a string", bool: "true or false",
          Any: "a value"}.get(annotation, str(annotation))


def _convert(value, annotation):
  origin, args = typing.get_origin(annotation), typing.get_args(annotation)
  if annotation is Any:
    return value
  if origin is typing.Union:
    return None if value is None else _convert(value, _without_none(annotation))
  if origin is tuple:
    if not isinstance(value, (list, tuple)):
      raise _Mismatch()
    return tuple(_convert(item, args[0]) for item in value)
  if origin is collections.abc.Mapping:
    if not isinstance(value, collections.abc.Mapping):
      raise _Mismatch()
    return {_key(key, args[0]): _convert(item, args[1]) for key, item in value.items()}
  return _scalar(value, annotation)


def _scalar(value, annotation):
  if annotation in (bool, str):
    if isinstance(value, annotation):
      return value
    raise _Mismatch()
  if (annotation not in (int, float) or isinstance(value, bool)
      or not isinstance(value, numbers.Real)):
    raise _Mismatch()
  if not math.isfinite(value):
    raise _Mismatch(non_finite=True)
  if annotation is float:
    return value
  if isinstance(value, numbers.Integral) or float(value).is_integer():
    return int(value)
  raise _Mismatch()


def _key(key, annotation):
  if annotation is int and isinstance(key, str):
    try:
      return int(key)
    except ValueError:
      raise _Mismatch() from None
  return _scalar(key, annotation)


def _without_none(annotation):
  rest = [a for a in typing.get_args(annotation) if a is not type(None)]
  return rest[0] if len(rest) == 1 else typing.Union[tuple(rest)]


def _bare(text: str) -> str:
  return text[2:] if text.startswith("a ") else text


def _plural(text: str) -> str:
  return _bare(text) + "s"
