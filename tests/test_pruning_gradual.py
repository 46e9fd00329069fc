"""Gradual pruning's sparsity as training sees it: after every batch, the kernels hold
exactly the zeros that the cubic schedule asked for at its last pruning step, and the
fine-tuning epochs hold the target."""

import math
from unittest import mock

import numpy as np
import tensorflow as tf

from pruning.masks import kernels
from pruning.methods import METHODS, PruneSettings, gradual
from pruning.training import FitSettings
from tests.test_pruning_masks import tiny_model
from tests.test_pruning_methods import tiny_data

SETTINGS = PruneSettings(fine_tune=FitSettings(epochs=1, batch_size=8, learning_rate=1e-2),
                         gradual_epochs=2, prune_every=5)
TARGET = 0.8


def kernel_zeros(model):
  return sum(int(np.sum(k == 0)) for k in kernels(model).values())


def observed_training(method, model, data):
  """Runs `method` and returns, per training phase, the kernel zeros after each batch."""
  phases = []
  original_fit = gradual.fit

  def observing_fit(model, train, settings, **kwargs):
    seen = []
    phases.append(seen)
    observer = tf.keras.callbacks.LambdaCallback(
        on_train_batch_end=lambda batch, logs: seen.append(kernel_zeros(model)))
    kwargs["callbacks"] = [*kwargs.get("callbacks", ()), observer]
    return original_fit(model, train, settings, **kwargs)

  with mock.patch.object(gradual, "fit", observing_fit):
    result = method(model, data, TARGET, settings=SETTINGS)
  return phases, result


class GradualSparsityTest(tf.test.TestCase):

  def test_zeros_follow_the_cubic_schedule_while_training(self):
    model, data = tiny_model(), tiny_data()
    parameters = model.count_params()
    steps_per_epoch = math.ceil(len(data.train) / SETTINGS.fine_tune.batch_size)
    ramp = SETTINGS.gradual_epochs * steps_per_epoch
    phases, result = observed_training(METHODS["gradual_magnitude"], model, data)
    ramp_zeros, fine_tune_zeros = phases
    self.assertLen(ramp_zeros, ramp)
    expected, due = [], 0.0
    for step in range(ramp):
      if step % SETTINGS.prune_every == 0:
        due = TARGET * (1 - (1 - step / ramp) ** 3)
      expected.append(math.ceil(due * parameters - 1e-9))
    self.assertEqual(ramp_zeros, expected)
    self.assertEqual(ramp_zeros, sorted(ramp_zeros))
    target_zeros = math.ceil(TARGET * parameters - 1e-9)
    self.assertEqual(fine_tune_zeros, [target_zeros] * steps_per_epoch)
    self.assertEqual(kernel_zeros(result.model), target_zeros)


if __name__ == "__main__":
  tf.test.main()
