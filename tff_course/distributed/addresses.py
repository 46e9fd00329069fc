"""Worker addresses: free loopback ports, "HOST:PORT" parsed, whether a host is this
machine, and whether a port can be listened on."""

from __future__ import annotations

import socket
from typing import List, Optional, Sequence, Tuple

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


def planned_addresses(given: Optional[Sequence[str]], roles: Sequence[str]
                      ) -> Tuple[List[str], List[int]]:
  """(one address per role, the indices of those on this machine): `given` checked, or free
  loopback ports. The first role must be on this machine, and every local port free.

  Raises:
    ConfigError: a count that does not match the roles, an address that is not HOST:PORT,
      a first address elsewhere, or a local port in use.
  """
  addresses = list(given) if given else loopback_addresses(len(roles))
  if len(addresses) != len(roles):
    raise ConfigError(f"addresses: got {len(addresses)} ({', '.join(addresses)}), expected "
                      f"{len(roles)}: one for each of {', '.join(roles)}")
  local = [index for index, address in enumerate(addresses)
           if is_local(parse_address(address)[0])]
  if 0 not in local:
    raise ConfigError(f"addresses: the first ({addresses[0]}) must be on this machine: "
                      f"{roles[0]} reports to the controller")
  if given:
    for index in local:
      check_port_free(*parse_address(addresses[index]))
  return addresses, local


def not_formed(addresses: Sequence[str], local: Sequence[int], seconds: float) -> str:
  """The one line for a cluster that did not form in time, naming the addresses not
  started here (or all of them)."""
  remote = [address for index, address in enumerate(addresses) if index not in local]
  return (f"the cluster did not form within {seconds:g} s; no answer from "
          f"{', '.join(remote or addresses)}")
