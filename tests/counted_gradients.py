"""Counting the NumPy SGD's gradient evaluations (FedAvg's clients run it too)."""

import contextlib
import importlib
from unittest import mock


@contextlib.contextmanager
def counted_gradients():
  """Yields a list that gets one entry per call of loss_and_gradients by the NumPy SGD."""
  module = importlib.import_module("tff_course.scratch.sgd")
  evaluations = []
  real = module.loss_and_gradients

  def counting(*args):
    evaluations.append(1)
    return real(*args)

  with mock.patch.object(module, "loss_and_gradients", counting):
    yield evaluations
