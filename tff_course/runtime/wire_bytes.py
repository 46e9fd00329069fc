"""The bytes a driver and its TFF workers exchange over gRPC, counted on the driver.

Every call between TFF's remote executor and a worker is a unary gRPC call whose request
and response are protocol buffers (the computation, the values it takes, the results it
returns); `WireCounter` adds up their serialized sizes, which is what crosses the network
apart from gRPC's framing (a few bytes a message and HTTP/2 headers).
"""

from __future__ import annotations

import dataclasses
import threading

import grpc


@dataclasses.dataclass(frozen=True)
class WireBytes:
  """Bytes sent to a worker (`sent`) and received from it (`received`), and calls."""

  sent: int = 0
  received: int = 0
  calls: int = 0

  def __add__(self, other: "WireBytes") -> "WireBytes":
    return WireBytes(self.sent + other.sent, self.received + other.received,
                     self.calls + other.calls)

  def __sub__(self, other: "WireBytes") -> "WireBytes":
    return WireBytes(self.sent - other.sent, self.received - other.received,
                     self.calls - other.calls)


class WireCounter(grpc.UnaryUnaryClientInterceptor):
  """A gRPC client interceptor that counts the serialized bytes of each call's request
  and response (`grpc.intercept_channel(channel, counter)`)."""

  def __init__(self):
    self._lock = threading.Lock()
    self._total = WireBytes()

  @property
  def total(self) -> WireBytes:
    with self._lock:
      return self._total

  def intercept_unary_unary(self, continuation, client_call_details, request):
    outcome = continuation(client_call_details, request)
    received = 0
    try:
      received = outcome.result().ByteSize()
    except grpc.RpcError:
      pass
    with self._lock:
      self._total += WireBytes(request.ByteSize(), received, 1)
    return outcome
