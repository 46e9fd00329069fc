"""What LARS and LAMB share: the per-layer trust ratio, and which variables are left out of
it and of weight decay.

By default ("vectors") every variable of rank below 2 is left out: biases and the scales
and offsets of normalisation layers, as You et al. leave them out (LARS, 2017; LAMB,
2020). Otherwise the rule is a list of regular expressions searched in the variable's
name (`[]`: no variable is left out). A variable left out of adaptation takes the plain
step (trust ratio 1).
"""

from __future__ import annotations

import re
from typing import List, Optional, Sequence, Tuple, Union

from tff_course.errors import ConfigError

VECTORS = "vectors"
ExclusionRule = Union[str, Sequence[str]]


def check_exclusion(name: str, rule: ExclusionRule) -> ExclusionRule:
  """`rule` ("vectors" or a list of regular expressions), or one line saying what is wrong."""
  if rule == VECTORS:
    return rule
  if isinstance(rule, str) or not all(isinstance(pattern, str) for pattern in rule):
    raise ConfigError(f"{name}: got {rule!r}, expected {VECTORS!r} or a list of regular "
                      "expressions matched against variable names")
  for pattern in rule:
    try:
      re.compile(pattern)
    except re.error as error:
      raise ConfigError(f"{name}: {pattern!r} is not a regular expression ({error})") from None
  return list(rule)


def check_exclusions(adaptation: ExclusionRule,
                     weight_decay: Optional[ExclusionRule]) -> Tuple[ExclusionRule, ExclusionRule]:
  """The rules for adaptation and for weight decay; weight decay's defaults to adaptation's."""
  adaptation = check_exclusion("exclude_from_adaptation", adaptation)
  return adaptation, check_exclusion("exclude_from_weight_decay",
                                     adaptation if weight_decay is None else weight_decay)


def included(variables, rule: ExclusionRule) -> List[bool]:
  """For each variable, whether `rule` keeps it in."""
  return [not is_excluded(variable, rule) for variable in variables]


def is_excluded(variable, rule: ExclusionRule) -> bool:
  """Whether `rule` leaves `variable` out."""
  if rule == VECTORS:
    return len(variable.shape) < 2
  return any(re.search(pattern, variable.name) for pattern in rule)


def trust_ratio(numerator, denominator):
  """numerator / denominator where both are positive, else 1 (a zero weight or a zero
  update takes the plain step)."""
  import tensorflow as tf

  usable = tf.logical_and(numerator > 0, denominator > 0)
  return tf.where(usable, numerator / tf.where(usable, denominator, 1.0), 1.0)
