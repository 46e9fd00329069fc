"""Federated devices and how each round picks the ones that train."""

from tff_course.sampling.device import Device, create_device, create_devices
from tff_course.sampling.selection import (get_devices_for_round,
                                           get_devices_for_round_GROUP,
                                           get_devices_weighted, round_seed)

__all__ = [
    "Device", "create_device", "create_devices", "get_devices_for_round",
    "get_devices_for_round_GROUP", "get_devices_weighted", "round_seed",
]
