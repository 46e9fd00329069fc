"""Clients a round left out for a non-finite update, read from its metrics."""

from __future__ import annotations


def clients_dropped(metrics) -> int:
  """From a composed learning process's round `metrics`: the clients its aggregator
  dropped (`DropNonFiniteFactory`) plus those packed client calls left out."""
  return int(metrics["aggregator"]["clients_dropped"]) + int(
      metrics["client_work"].get("clients_dropped", 0))
