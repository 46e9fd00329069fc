"""DLG with TensorFlow Probability's L-BFGS: the straightforward TensorFlow port that the
issue says recovers the label but not the image, kept to measure that claim.

The objective, the dummy's draw and the seed are DLG's (`attacks.py`); only the
optimiser differs: `tfp.optimizer.lbfgs_minimize` (Hager-Zhang line search) with DLG's
history of 100 and gradient tolerance, and as many iterations as the reference's 300
steps of up to 20 iterations may take.
"""

from __future__ import annotations

import time

import numpy as np
import tensorflow as tf

from tasks.inversion.attacks import AttackConfig, attack_inputs, distance_objective, dlg_problem
from tasks.inversion.outcome import AttackResult, Status


def tfp_dlg(model, gradients, batch_size: int, config: AttackConfig) -> AttackResult:
  """DLG from the dummy `config.seed` draws, minimised by TFP's L-BFGS for up to
  `config.iterations * config.lbfgs.max_iter` iterations.

  Raises:
    GradientError: a None, misshapen or non-finite gradient entry.
    ConfigError: bad settings.
  """
  import tensorflow_probability as tfp

  targets, image_shape, num_classes = attack_inputs(model, gradients, batch_size)
  image_shape, draw, unpack, labels_of = dlg_problem(image_shape, num_classes)
  objective = distance_objective(model, targets, unpack)
  minimize = tf.function(lambda x: tfp.optimizer.lbfgs_minimize(
      objective, x, num_correction_pairs=config.lbfgs.history_size,
      tolerance=config.lbfgs.tolerance_grad,
      max_iterations=config.iterations * config.lbfgs.max_iter),
                         jit_compile=config.jit_compile)
  x0 = draw(np.random.default_rng(config.seed))
  start = time.perf_counter()
  found = minimize(tf.constant(x0))
  seconds = time.perf_counter() - start
  x = found.position.numpy()
  size = int(np.prod(image_shape))
  images = np.reshape(x[:size], image_shape)
  converged, failed = bool(found.converged), bool(found.failed)
  value = float(found.objective_value)
  return AttackResult(
      images=images, labels=np.asarray(labels_of(x), np.int32),
      snapshots=[(0, np.reshape(x0[:size], image_shape)),
                 (int(found.num_iterations), images)],
      losses=[float(objective(tf.constant(x0))[0])],
      status=Status.STALLED if converged or failed else Status.FINISHED,
      message=(f"TFP L-BFGS: converged {converged}, line search failed {failed}, after "
               f"{int(found.num_iterations)} iterations"),
      steps=int(found.num_iterations), evaluations=int(found.num_objective_evaluations),
      seconds=seconds, objective=value if np.isfinite(value) else float("inf"))
