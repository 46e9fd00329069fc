"""Pipeline schedules: the order in which each of S stages runs the forward (F) and backward
(B) passes of M micro-batches, their timeline, bubble and activation stash.

GPipe (Huang et al. 2019): every stage runs all M forwards, then all M backwards.
1F1B (PipeDream-Flush, Narayanan et al. 2021): stage s runs min(S - s - 1, M) forwards,
then alternates one forward and one backward, then the remaining backwards; the same
bubble as GPipe, but at most S - s micro-batches' activations held at once instead of M.
With forward time f and backward time b per micro-batch and stage, both take
(M + S - 1)(f + b) and idle a fraction (S - 1) / (M + S - 1) of it (the bubble).
"""

from __future__ import annotations

import dataclasses
from typing import Dict, List, Sequence, Tuple

from tff_course.errors import ConfigError
from tff_course.ranges import check_integer

SCHEDULES = ("gpipe", "1f1b")
FORWARD, BACKWARD = "F", "B"


@dataclasses.dataclass(frozen=True, order=True)
class Op:
  """One pass of one micro-batch on one stage."""

  stage: int
  kind: str
  micro_batch: int

  def __str__(self) -> str:
    return f"{self.kind}{self.micro_batch}@{self.stage}"


def stage_orders(schedule: str, stages: int, micro_batches: int) -> List[List[Op]]:
  """For each stage, the ops it runs, in order."""
  check_integer("stages (S)", stages, 1)
  check_integer("micro_batches (M)", micro_batches, 1)
  if schedule not in SCHEDULES:
    raise ConfigError(f"schedule: got {schedule!r}, expected one of {', '.join(SCHEDULES)}")
  orders = []
  for stage in range(stages):
    forwards = [Op(stage, FORWARD, m) for m in range(micro_batches)]
    backwards = [Op(stage, BACKWARD, m) for m in range(micro_batches)]
    if schedule == "gpipe":
      orders.append(forwards + backwards)
      continue
    warmup = min(stages - stage - 1, micro_batches)
    order = forwards[:warmup]
    for m in range(micro_batches - warmup):
      order += [forwards[warmup + m], backwards[m]]
    orders.append(order + backwards[micro_batches - warmup:])
  return orders


def dependencies(op: Op, stages: int) -> List[Op]:
  """The ops whose results `op` needs: the previous stage's forward of its micro-batch; for
  a backward, its own forward and the next stage's backward."""
  if op.kind == FORWARD:
    return [Op(op.stage - 1, FORWARD, op.micro_batch)] if op.stage > 0 else []
  needed = [Op(op.stage, FORWARD, op.micro_batch)]
  if op.stage < stages - 1:
    needed.append(Op(op.stage + 1, BACKWARD, op.micro_batch))
  return needed


def timeline(orders: Sequence[Sequence[Op]], forward_time: float = 1.0,
             backward_time: float = 2.0) -> Dict[Op, Tuple[float, float]]:
  """(start, end) of every op when each stage runs its order and an op starts once its
  stage is free and its dependencies have ended.

  Raises:
    ConfigError: the orders deadlock (no stage can go on).
  """
  stages = len(orders)
  times: Dict[Op, Tuple[float, float]] = {}
  position, free = [0] * stages, [0.0] * stages
  while any(position[s] < len(orders[s]) for s in range(stages)):
    progressed = False
    for stage in range(stages):
      while position[stage] < len(orders[stage]):
        op = orders[stage][position[stage]]
        needed = dependencies(op, stages)
        if any(dep not in times for dep in needed):
          break
        start = max([free[stage]] + [times[dep][1] for dep in needed])
        end = start + (forward_time if op.kind == FORWARD else backward_time)
        times[op], free[stage] = (start, end), end
        position[stage] += 1
        progressed = True
    if not progressed:
      waiting = [str(orders[s][position[s]]) for s in range(stages)
                 if position[s] < len(orders[s])]
      raise ConfigError(f"schedule deadlocks: {', '.join(waiting)} wait on each other")
  return times


def issue_order(orders: Sequence[Sequence[Op]]) -> List[Op]:
  """Every op in an order that respects each stage's order and every dependency (the
  order a controller dispatches them in)."""
  times = timeline(orders)
  return sorted(times, key=lambda op: (times[op][0], op.stage))


def bubble_fraction(times: Dict[Op, Tuple[float, float]], stages: int) -> float:
  """The share of stages x makespan during which stages were idle."""
  start = min(begin for begin, _ in times.values())
  makespan = max(end for _, end in times.values()) - start
  busy = sum(end - begin for begin, end in times.values())
  return 1.0 - busy / (stages * makespan)


def ideal_bubble(stages: int, micro_batches: int) -> float:
  """(S - 1) / (M + S - 1)."""
  return (stages - 1) / (micro_batches + stages - 1)


def peak_stash(order: Sequence[Op]) -> int:
  """The most micro-batches whose forward a stage has run and whose backward it has not:
  the activations it must hold at once."""
  held = peak = 0
  for op in order:
    held += 1 if op.kind == FORWARD else -1
    peak = max(peak, held)
  return peak
