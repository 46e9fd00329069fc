"""SCAFFOLD in NumPy (Karimireddy et al., 2020, Algorithm 1), the reference the TFF
computation (tff_course.algorithms.scaffold) is tested against."""

from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

import numpy as np

from tff_course.scratch.mlp import Params, loss_and_gradients
from tff_course.scratch.sgd import batches


def scaffold_client(params: Params, server_control: Params, own_control: Params,
                    x: np.ndarray, y: np.ndarray, *, learning_rate: float,
                    batch_size: Optional[int], steps: Optional[int] = None, epochs: int = 1,
                    option: str = "II") -> Tuple[Params, Params]:
  """One client's round: its model after K corrected SGD steps from `params`, and its
  new control (option I: the example-weighted gradient at `params` over the batches it
  trains on; option II: c_i - c + (x - y) / (K lr))."""
  chosen = list(batches(len(y), batch_size, epochs, None, steps))
  local = [p.astype(np.float64) for p in params]
  if option == "I":
    total = [np.zeros_like(p) for p in local]
    for batch in chosen:
      _, grads = loss_and_gradients(local, x[batch], y[batch])
      total = [t + len(batch) * g for t, g in zip(total, grads)]
    new_control = [t / max(sum(len(b) for b in chosen), 1) for t in total]
  for batch in chosen:
    _, grads = loss_and_gradients(local, x[batch], y[batch])
    local = [p - learning_rate * (g - ci + c)
             for p, g, ci, c in zip(local, grads, own_control, server_control)]
  if option == "II":
    scale = 1.0 / (max(len(chosen), 1) * learning_rate)
    new_control = [ci - c + scale * (p0 - p) for ci, c, p0, p in
                   zip(own_control, server_control, params, local)]
  return local, new_control


def scaffold_round(params: Params, server_control: Params,
                   client_controls: Sequence[Params],
                   clients: Sequence[Tuple[np.ndarray, np.ndarray]], *, learning_rate: float,
                   batch_size: Optional[int], num_clients: int, server_lr: float = 1.0,
                   steps: Optional[int] = None, epochs: int = 1,
                   option: str = "II") -> Tuple[Params, Params, List[Params]]:
  """A round over the sampled `clients` with their `client_controls`: the new server
  model, the new server control, and the clients' new controls."""
  deltas, control_deltas, new_controls = [], [], []
  for (x, y), own in zip(clients, client_controls):
    local, new_control = scaffold_client(
        params, server_control, own, x, y, learning_rate=learning_rate,
        batch_size=batch_size, steps=steps, epochs=epochs, option=option)
    deltas.append([l - p for l, p in zip(local, params)])
    control_deltas.append([n - o for n, o in zip(new_control, own)])
    new_controls.append(new_control)
  new_params = [p + server_lr * np.mean(d, axis=0) for p, d in zip(params, zip(*deltas))]
  new_server = [c + np.sum(d, axis=0) / num_clients
                for c, d in zip(server_control, zip(*control_deltas))]
  return new_params, new_server, new_controls
