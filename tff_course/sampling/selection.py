"""Choosing the devices that train in a round.

McMahan et al. (2017) pick max(C * K, 1) of K devices uniformly each round. Group
selection picks a given number from each group: equal numbers give every group fair
participation, unequal numbers model groups that take part more or less often.
Weighted selection draws devices with given probabilities, without replacement.
"""

from __future__ import annotations

from typing import Dict, Hashable, List, Mapping, Sequence, Union

import numpy as np

from tff_course.errors import ConfigError


def round_seed(seed: int, round_num: int) -> int:
  """An independent, reproducible seed for round `round_num` of a run seeded `seed`."""
  return int(np.random.SeedSequence([seed, round_num]).generate_state(1)[0])


def get_devices_for_round(devices: Sequence, device_pct: float, seed: int) -> List:
  """Picks max(floor(device_pct * len(devices)), 1) devices uniformly at random.

  Args:
    devices: the candidates.
    device_pct: C, the fraction of devices per round, in (0, 1].
    seed: the round's seed (see `round_seed`).

  Returns:
    The chosen devices, in their order in `devices`.
  """
  if not devices:
    raise ConfigError("devices: got no devices to choose from")
  if not 0 < device_pct <= 1:
    raise ConfigError(f"device_pct: got {device_pct}, expected a fraction in (0, 1]")
  count = max(int(np.floor(device_pct * len(devices) + 1e-9)), 1)
  chosen = np.random.default_rng(seed).choice(len(devices), size=count, replace=False)
  return [devices[i] for i in np.sort(chosen)]


def get_devices_for_round_GROUP(devices: Sequence,  # pylint: disable=invalid-name
                                devices_per_group: Union[int, Mapping[Hashable, int]],
                                seed: int) -> List:
  """Picks a given number of devices from each group, uniformly within the group.

  Args:
    devices: candidates with a `group` attribute.
    devices_per_group: one number for every group (fair participation), or group ->
      number (unfair participation, e.g. {0: 10, 1: 2, 2: 1}).
    seed: the round's seed.

  Returns:
    The chosen devices, in their order in `devices`.

  Raises:
    ConfigError: a group named that has no devices, a group with devices left unnamed,
      a negative count, or more devices asked of a group than it has.
  """
  members = _members_by_group(devices)
  wanted = (dict.fromkeys(members, devices_per_group)
            if isinstance(devices_per_group, int) else dict(devices_per_group))
  for group, count in wanted.items():
    _check_group_count(members, group, count)
  unnamed = sorted(set(members) - set(wanted), key=str)
  if unnamed:
    raise ConfigError(f"devices_per_group: got {dict(wanted)}, which leaves out group "
                      f"{unnamed[0]!r}; give every group a count (0 to leave it out)")
  rng = np.random.default_rng(seed)
  chosen = []
  for group, count in wanted.items():
    chosen.extend(rng.choice(members[group], size=count, replace=False).tolist())
  if not chosen:
    raise ConfigError("devices_per_group: asked for no devices at all")
  return [devices[i] for i in sorted(chosen)]


def _check_group_count(members, group, count) -> None:
  if group not in members:
    raise ConfigError(
        f"devices_per_group: group {group!r} has no devices; groups with devices: "
        f"{sorted(members, key=str)}")
  if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < 0:
    raise ConfigError(
        f"devices_per_group: got {count!r} for group {group!r}, expected a whole "
        f"number >= 0")
  if count > len(members[group]):
    raise ConfigError(
        f"devices_per_group: asked {count} devices of group {group!r}, which has "
        f"{len(members[group])}")


def get_devices_weighted(devices: Sequence, num_devices: int, probabilities,
                         seed: int) -> List:
  """Draws `num_devices` distinct devices, each draw with the given probabilities.

  Args:
    devices: the candidates.
    num_devices: how many to draw.
    probabilities: one non-negative weight per device, normalised to sum to 1 (for
      example each device's number of examples).
    seed: the round's seed.

  Returns:
    The chosen devices, in their order in `devices`.
  """
  if not devices:
    raise ConfigError("devices: got no devices to choose from")
  weights = np.asarray(probabilities, dtype=np.float64)
  if weights.shape != (len(devices),):
    raise ConfigError(
        f"probabilities: got shape {weights.shape}, expected one per device "
        f"({len(devices)},)")
  if not np.all(np.isfinite(weights)) or weights.min() < 0 or weights.sum() <= 0:
    raise ConfigError(
        "probabilities: expected finite, non-negative weights with a positive sum")
  possible = int(np.count_nonzero(weights))
  if isinstance(num_devices, bool) or not 1 <= num_devices <= possible:
    raise ConfigError(
        f"num_devices: got {num_devices!r}, expected 1 to {possible} (the devices with "
        f"non-zero probability)")
  chosen = np.random.default_rng(seed).choice(
      len(devices), size=num_devices, replace=False, p=weights / weights.sum())
  return [devices[i] for i in np.sort(chosen)]


def _members_by_group(devices: Sequence) -> Dict[Hashable, List[int]]:
  if not devices:
    raise ConfigError("devices: got no devices to choose from")
  members: Dict[Hashable, List[int]] = {}
  for position, device in enumerate(devices):
    group = getattr(device, "group", None)
    if group is None:
      raise ConfigError(
          f"devices: device {getattr(device, 'id', position)!r} has no group; build the "
          f"devices from a group partition (noniid_group_sampler)")
    members.setdefault(group, []).append(position)
  return members
