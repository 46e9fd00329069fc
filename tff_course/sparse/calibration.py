"""Mask calibration in rounds (TaLoS, Iurada et al. 2025, sec. 4.2).

Over R rounds the kept fraction of eligible entries shrinks geometrically from 1 to the
target density d (d^(r/R) after round r). Each round scores the entries still kept on
the model as it is masked so far, and keeps those the rule prefers; an entry dropped
once stays dropped, and one threshold serves all variables ("global") or each variable
keeps its own fraction ("layer"). As in TaLoS's code, the entries dropped so far are
multiplied by `excluded_scale` (0.1) while the model is re-scored, and restored after.

Rules, naming what stays updatable: least_sensitive (TaLoS: lowest Fisher score),
most_sensitive, lowest_magnitude, highest_magnitude, random. Variables that are not
eligible get all-zero masks (frozen).
"""

from __future__ import annotations

import contextlib
import dataclasses
import numbers
from typing import Callable, Dict, Iterator, List, Mapping, Optional, Sequence

import numpy as np

from tff_course.errors import ConfigError
from tff_course.sparse.mask_set import Masks, variable_key

RULES = ("least_sensitive", "most_sensitive", "lowest_magnitude", "highest_magnitude",
         "random")
SENSITIVITY_RULES = ("least_sensitive", "most_sensitive")
SCOPES = ("global", "layer")
_KEEPS_LOWEST = ("least_sensitive", "lowest_magnitude", "random")

Scores = Dict[str, np.ndarray]


@dataclasses.dataclass(frozen=True)
class CalibrationSettings:
  """What `calibrate_masks` builds: a density over the eligible entries, in rounds."""

  density: float
  rounds: int = 4
  rule: str = "least_sensitive"
  scope: str = "global"
  excluded_scale: float = 0.1

  def __post_init__(self):
    check_density(self.density)
    if isinstance(self.rounds, bool) or not isinstance(self.rounds, numbers.Integral) or (
        self.rounds < 1):
      raise ConfigError(f"calibration rounds: got {self.rounds!r}, expected an integer >= 1")
    if self.rule not in RULES:
      raise ConfigError(f"rule: got {self.rule!r}, expected one of {', '.join(RULES)}")
    if self.scope not in SCOPES:
      raise ConfigError(f"scope: got {self.scope!r}, expected one of {', '.join(SCOPES)}")
    if not (isinstance(self.excluded_scale, numbers.Real)
            and 0 <= self.excluded_scale <= 1):
      raise ConfigError(f"excluded_scale: got {self.excluded_scale!r}, expected a number "
                        f"in [0, 1]")

  def kept_fraction(self, round_index: int) -> float:
    """The fraction of eligible entries kept after round `round_index` (1-based)."""
    return self.density ** (round_index / self.rounds)


def check_density(density) -> float:
  """`density` as a float in (0, 1]; ConfigError otherwise."""
  if isinstance(density, bool) or not isinstance(density, numbers.Real) or not (
      0 < density <= 1):
    raise ConfigError(f"density: got {density!r}, expected a number in (0, 1] (the "
                      f"fraction of eligible weights that may be updated)")
  return float(density)


def eligible_keys(model, *, head: bool = False, norms: bool = True,
                  biases: bool = True) -> List[str]:
  """Keys of the trainable variables a mask may open: by default all but the head's.

  Args:
    head: include the last Dense layer (the classifier head).
    norms: include normalization layers' scales and offsets.
    biases: include biases.
  """
  import tensorflow as tf

  norm_types = (tf.keras.layers.BatchNormalization, tf.keras.layers.LayerNormalization,
                tf.keras.layers.GroupNormalization)
  last = model.layers[-1]
  keys = []
  for layer in model.layers:
    if layer is last and isinstance(layer, tf.keras.layers.Dense) and not head:
      continue
    if isinstance(layer, norm_types) and not norms:
      continue
    for variable in layer.trainable_variables:
      key = variable_key(variable)
      if not biases and key.endswith("/bias"):
        continue
      keys.append(key)
  if not keys:
    raise ConfigError(f"model {model.name!r}: no trainable variable is eligible for the "
                      f"mask (head={head}, norms={norms}, biases={biases})")
  return keys


def calibrate_masks(model, settings: CalibrationSettings, eligible: Sequence[str],
                    sensitivity: Callable[[object], Scores], *, seed: int = 0,
                    on_round: Optional[Callable[[int, Masks], None]] = None) -> Masks:
  """A mask for every trainable variable of `model`, built in `settings.rounds` rounds.

  Args:
    model: the pre-trained Keras model (its weights are restored on return).
    settings: density, rounds, rule, scope.
    eligible: the keys masks may open (`eligible_keys`); others get all-zero masks.
    sensitivity: model -> key -> score of every eligible variable (a Fisher diagonal,
      central or summed over clients); called once a round for sensitivity rules only.
    seed: for the random rule.
    on_round: called with (round, masks so far) after every round.
  """
  variables = {variable_key(v): v for v in model.trainable_variables}
  unknown = [key for key in eligible if key not in variables]
  if unknown:
    raise ConfigError(f"eligible: {', '.join(unknown[:3])} not among the model's trainable "
                      f"variables")
  kept = {key: np.ones(variables[key].shape, bool) for key in eligible}
  fixed = _fixed_scores(settings.rule, {key: variables[key].numpy() for key in eligible},
                        seed)
  for round_index in range(1, settings.rounds + 1):
    if fixed is None:
      with scaled_entries(variables, kept, settings.excluded_scale):
        scores = sensitivity(model)
      scores = {key: np.asarray(scores[key], np.float64) for key in eligible}
    else:
      scores = fixed
    kept = select(scores, kept, settings.kept_fraction(round_index), settings.rule,
                  settings.scope)
    if on_round is not None:
      on_round(round_index, full_masks(model, kept))
  return full_masks(model, kept)


def full_masks(model, kept: Mapping[str, np.ndarray]) -> Masks:
  """0/1 float32 masks of every trainable variable: `kept` where given, else zeros."""
  return {variable_key(v): (kept[variable_key(v)].astype(np.float32)
                            if variable_key(v) in kept else np.zeros(v.shape, np.float32))
          for v in model.trainable_variables}


def _fixed_scores(rule: str, weights: Mapping[str, np.ndarray], seed: int):
  if rule in SENSITIVITY_RULES:
    return None
  if rule == "random":
    rng = np.random.default_rng(seed)
    return {key: rng.random(value.shape) for key, value in weights.items()}
  return {key: np.abs(value).astype(np.float64) for key, value in weights.items()}


def select(scores: Mapping[str, np.ndarray], kept: Mapping[str, np.ndarray],
           fraction: float, rule: str, scope: str) -> Dict[str, np.ndarray]:
  """The entries kept after one round: among `kept`, `fraction` of all eligible entries
  (of each variable's, for scope "layer") chosen by `rule`; ties broken by position."""
  preference = {key: (value if rule in _KEEPS_LOWEST else -value)
                for key, value in scores.items()}
  if scope == "layer":
    return {key: _keep_best({key: preference[key]}, {key: kept[key]}, fraction)[key]
            for key in preference}
  return _keep_best(preference, kept, fraction)


def _keep_best(preference: Mapping[str, np.ndarray], kept: Mapping[str, np.ndarray],
               fraction: float) -> Dict[str, np.ndarray]:
  keys = list(preference)
  total = sum(preference[key].size for key in keys)
  count = min(int(round(fraction * total)), sum(int(kept[key].sum()) for key in keys))
  flat = np.concatenate([np.where(kept[key], preference[key], np.inf).ravel()
                         for key in keys])
  chosen = np.zeros(flat.size, bool)
  chosen[np.argsort(flat, kind="stable")[:count]] = True
  result, start = {}, 0
  for key in keys:
    size = preference[key].size
    result[key] = chosen[start:start + size].reshape(preference[key].shape)
    start += size
  return result


@contextlib.contextmanager
def scaled_entries(variables: Mapping[str, object], kept: Mapping[str, np.ndarray],
                   scale: float) -> Iterator[None]:
  """Multiplies the entries not `kept` by `scale` inside the block; restores them after."""
  originals = {key: variables[key].numpy() for key in kept}
  try:
    for key, mask in kept.items():
      if not mask.all():
        variables[key].assign(np.where(mask, originals[key], originals[key] * scale))
    yield
  finally:
    for key, value in originals.items():
      variables[key].assign(value)
