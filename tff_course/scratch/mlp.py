"""A multilayer perceptron in NumPy with hand-written forward and backward passes.

Layers are linear (z = x W + b, W of shape (in, out) as in Keras) with ReLU between
them and softmax cross-entropy on the output. Parameters are a list
[W1, b1, W2, b2, ...], the order Keras' `get_weights()` uses for Dense layers.
"""

from __future__ import annotations

from typing import List, Sequence, Tuple

import numpy as np

Params = List[np.ndarray]


def init_mlp(layer_sizes: Sequence[int], seed: int = 0) -> Params:
  """Glorot-uniform weights and zero biases, e.g. layer_sizes = (10, 32, 4)."""
  rng = np.random.default_rng(seed)
  params: Params = []
  for fan_in, fan_out in zip(layer_sizes[:-1], layer_sizes[1:]):
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    params.append(rng.uniform(-limit, limit, (fan_in, fan_out)).astype(np.float32))
    params.append(np.zeros(fan_out, np.float32))
  return params


def linear_forward(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
  """z = x W + b."""
  return x @ weight + bias


def linear_backward(grad_z: np.ndarray, x: np.ndarray,
                    weight: np.ndarray) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
  """Given dL/dz for z = x W + b, returns (dL/dx, dL/dW, dL/db)."""
  return grad_z @ weight.T, x.T @ grad_z, grad_z.sum(axis=0)


def forward(params: Params, x: np.ndarray) -> Tuple[np.ndarray, list]:
  """Logits, and the layer inputs the backward pass needs."""
  inputs = []
  h = x
  num_layers = len(params) // 2
  for layer in range(num_layers):
    inputs.append(h)
    h = linear_forward(h, params[2 * layer], params[2 * layer + 1])
    if layer < num_layers - 1:
      h = np.maximum(h, 0)
  return h, inputs


def softmax_cross_entropy(logits: np.ndarray, labels: np.ndarray) -> Tuple[float, np.ndarray]:
  """Mean cross-entropy over the batch and its gradient with respect to the logits."""
  shifted = logits - logits.max(axis=1, keepdims=True)
  log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
  count = len(labels)
  loss = -log_probs[np.arange(count), labels].mean()
  grad = np.exp(log_probs)
  grad[np.arange(count), labels] -= 1
  return float(loss), grad / count


def loss_and_gradients(params: Params, x: np.ndarray,
                       labels: np.ndarray) -> Tuple[float, Params]:
  """Mean loss on (x, labels) and its gradient for every parameter."""
  logits, inputs = forward(params, x)
  loss, grad = softmax_cross_entropy(logits, labels)
  grads: Params = [None] * len(params)
  for layer in reversed(range(len(params) // 2)):
    weight = params[2 * layer]
    grad_x, grads[2 * layer], grads[2 * layer + 1] = linear_backward(grad, inputs[layer], weight)
    if layer > 0:
      grad = grad_x * (inputs[layer] > 0)
  return loss, grads


def accuracy(params: Params, x: np.ndarray, labels: np.ndarray) -> float:
  """Fraction of examples whose largest logit is the label."""
  return float(np.mean(np.argmax(forward(params, x)[0], axis=1) == labels))
