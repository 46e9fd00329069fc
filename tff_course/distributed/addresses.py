"""Worker addresses: free loopback ports, "HOST:PORT" parsed, whether a host is this
machine, and whether a port can be listened on."""

from __future__ import annotations

import socket
from typing import List, Tuple

from tff_course.errors import ConfigError


def free_ports(count: int, host: str = "127.0.0.1") -> List[int]:
  """`count` distinct ports free on `host` right now."""
  sockets = []
  try:
    for _ in range(count):
      sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
      sock.bind((host, 0))
      sockets.append(sock)
    return [sock.getsockname()[1] for sock in sockets]
  finally:
    for sock in sockets:
      sock.close()


def loopback_addresses(count: int) -> List[str]:
  """`count` "127.0.0.1:PORT" addresses on ports free right now."""
  return [f"127.0.0.1:{port}" for port in free_ports(count)]


def parse_address(address: str) -> Tuple[str, int]:
  """(host, port) of "HOST:PORT", or ConfigError naming it."""
  host, _, port = address.rpartition(":")
  if not host or not port.isdigit() or not 0 < int(port) < 65536:
    raise ConfigError(f"address: got {address!r}, expected HOST:PORT with a port in "
                      "1..65535")
  return host, int(port)


def is_local(host: str) -> bool:
  """Whether this machine can listen on `host` (a loopback or one of its own addresses)."""
  with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
    try:
      sock.bind((host, 0))
    except OSError:
      return False
  return True


def check_port_free(host: str, port: int) -> None:
  """ConfigError naming the address if this machine cannot listen on it now."""
  with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
    try:
      sock.bind((host, port))
    except OSError as error:
      raise ConfigError(f"address {host}:{port}: cannot listen there ({error.strerror}); "
                        "choose another port, or leave the addresses out for free "
                        "loopback ports") from None
