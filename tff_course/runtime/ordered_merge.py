"""TFF 0.87's mergeable execution context, with the workers' results taken in subround
order.

TFF's pool (`mergeable_comp_execution_context._run_in_async_context_pool`) hands each
subround's result on the moment its worker finishes. The merge of the aggregates then
follows the workers' finishing order (a different float sum from run to run with three
or more workers), and so does the concatenation of per-client results: SCAFFOLD's new
client controls came back permuted, so on two workers it gave a different result on
each run. `install()` replaces that pool with one that starts the same calls at once
and takes their results in subround order (the clients' order).
"""

from __future__ import annotations

import asyncio
from typing import Callable, Sequence

_INSTALLED = []


async def run_in_order(task_fn: Callable, arg_list: Sequence, execution_contexts: Sequence,
                       initial_result, postprocessing_hook: Callable):
  """TFF's pool contract: `task_fn(arg, context)` for each arg, one context each (waves
  of len(contexts) when there are more args), and `postprocessing_hook(result, partial,
  context)` folded over the partial results in the args' order."""
  result, context = initial_result, None
  width = len(execution_contexts)
  for start in range(0, len(arg_list), width):
    wave = list(zip(arg_list[start:start + width], execution_contexts))
    partials = await asyncio.gather(*(task_fn(arg, ctx) for arg, ctx in wave))
    for partial, (_, ctx) in zip(partials, wave):
      result = await postprocessing_hook(result, partial, ctx)
      context = ctx
  return result, context


def install() -> None:
  """Makes TFF's mergeable context use `run_in_order` (once per program)."""
  if _INSTALLED:
    return
  from tensorflow_federated.python.core.impl.execution_contexts import (
      mergeable_comp_execution_context as mergeable)

  mergeable._run_in_async_context_pool = run_in_order  # pylint: disable=protected-access
  _INSTALLED.append(True)
