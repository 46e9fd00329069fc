"""KEY=VALUE command-line arguments (`--set`, `--dataset-option`): one parser for all."""

from __future__ import annotations

import json
from typing import Any, Tuple

from tff_course.errors import ConfigError


def parse_key_value(text: str, flag: str, form: str = "KEY=VALUE") -> Tuple[str, Any]:
  """Splits "KEY=VALUE" at the first "="; the value is read as JSON (numbers, true,
  false, null, lists, objects, Infinity), else kept as the string.

  Raises:
    ConfigError: naming `flag` and the `form` expected, when there is no "=" or no key.
  """
  key, sep, value = text.partition("=")
  if not sep or not key.strip():
    raise ConfigError(f"{flag}: got {text!r}, expected {form}")
  return key.strip(), parse_value(value.strip())


def parse_value(text: str) -> Any:
  """`text` read as JSON, else the string itself."""
  try:
    return json.loads(text)
  except json.JSONDecodeError:
    return text
