"""The privacy-utility trade-off: for each defense and strength, how well DLG still
reconstructs (mean MSE over some images) and what test accuracy a training whose every
shared gradient passes through the same defense reaches.

The training is FedSGD-like: each step one client's mini-batch gradient at the current
model is defended and the model takes an SGD step on it; CIFAR-10 test accuracy at the
end. The attacked model and the trained one are the same architecture and seed.
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from tasks.inversion.attacks import AttackConfig
from tasks.inversion.checks import check_positive_int
from tasks.inversion.defenses import check_defense, defense_method
from tasks.inversion.experiment import (InversionConfig, build_attacked_model, cifar10,
                                        run_inversion)
from tasks.inversion.figures import tradeoff_plot
from tff_course.atomic import write_text
from tff_course.errors import ConfigError

DEFAULT_STRENGTHS = {"gaussian": (1e-4, 1e-3, 1e-2, 1e-1),
                     "laplacian": (1e-4, 1e-3, 1e-2, 1e-1),
                     "prune": (0.1, 0.2, 0.3, 0.5, 0.7),
                     "quantize": (16, 8, 4, 2)}


@dataclasses.dataclass(frozen=True)
class TrainingConfig:
  """The defended training: `examples` CIFAR-10 training images, `epochs` passes in
  client batches of `batch_size`, SGD with `learning_rate`."""

  examples: int = 10000
  batch_size: int = 20
  epochs: int = 2
  learning_rate: float = 0.1

  def __post_init__(self):
    for name in ("examples", "batch_size", "epochs"):
      check_positive_int(f"training.{name}", getattr(self, name))
    if not self.learning_rate > 0:
      raise ConfigError(f"training.learning_rate: got {self.learning_rate!r}, expected > 0")


def defended_accuracy(model_name: str, defense: str, strength, seed: int, x_train, y_train,
                      x_test, y_test, training: TrainingConfig) -> float:
  """Test accuracy after SGD on defended mini-batch gradients."""
  import tensorflow as tf

  model = build_attacked_model(model_name, seed)
  variables = model.trainable_variables

  @tf.function
  def gradient(images, labels):
    with tf.GradientTape() as tape:
      loss = tf.reduce_mean(tf.keras.losses.sparse_categorical_crossentropy(
          labels, model(images, training=True), from_logits=True))
    return tape.gradient(loss, variables)

  rng = np.random.default_rng(seed)
  step = 0
  for _ in range(training.epochs):
    order = rng.permutation(len(y_train))
    for start in range(0, len(order), training.batch_size):
      batch = order[start:start + training.batch_size]
      grads = defense_method(gradient(x_train[batch], y_train[batch]), defense, strength,
                             seed * 1_000_003 + step)
      for variable, g in zip(variables, grads):
        variable.assign_sub(training.learning_rate * g)
      step += 1
  predictions = np.argmax(model.predict(x_test, batch_size=500, verbose=0), axis=1)
  return float(np.mean(predictions == y_test))


def sweep(strengths: Dict[str, Sequence], *, model: str = "dlg_lenet",
          image_indices: Sequence[int] = (0,), seeds: Sequence[int] = (0,),
          attack: AttackConfig = AttackConfig(), training: TrainingConfig = TrainingConfig(),
          data_dir: Optional[str] = None, progress=None) -> List[Dict]:
  """One row per (defense, strength), "none" first: mean reconstruction metrics over
  images x seeds, and the defended training's accuracy (mean over seeds)."""
  settings: List[Tuple[str, float]] = [("none", 0.0)] + [
      (kind, value) for kind, values in strengths.items() for value in values]
  for kind, value in settings:
    check_defense(kind, value)
  dataset = cifar10(data_dir)
  x_train = dataset.train.x[:training.examples].astype(np.float32) / 255
  x_test = dataset.test.x.astype(np.float32) / 255
  rows = []
  for kind, value in settings:
    quality = [run_inversion(InversionConfig(
        attack=dataclasses.replace(attack, seed=seed), model=model, image_indices=(index,),
        defense=kind, strength=value, seed=seed), data_dir)[1]["mean"]
               for seed in seeds for index in image_indices]
    accuracy = [defended_accuracy(model, kind, value, seed, x_train,
                                  dataset.train.y[:training.examples], x_test,
                                  dataset.test.y, training) for seed in seeds]
    row = {"defense": kind, "strength": value, "accuracy": float(np.mean(accuracy))}
    row.update({key: float(np.median([q[key] for q in quality])) if key == "mse" else
                float(np.mean([q[key] for q in quality]))
                for key in ("mse", "psnr", "ssim", "label_recovered", "image_recovered")})
    rows.append(row)
    if progress is not None:
      progress(row)
  return rows


def write_sweep(out_dir: str, rows: List[Dict], config: Dict) -> Dict[str, str]:
  """sweep.json (rows, config, versions) and tradeoff.png (one panel per defense, the
  undefended run as reference lines; it is the JSON's first row)."""
  from tff_course.versions import environment_versions

  paths = {"json": os.path.join(out_dir, "sweep.json"),
           "plot": os.path.join(out_dir, "tradeoff.png")}
  write_text(paths["json"], json.dumps({"config": config, "rows": rows,
                                        "versions": environment_versions()}, indent=2) + "\n")
  tradeoff_plot(rows, paths["plot"])
  return paths


def sweep_table(rows: List[Dict]) -> str:
  """The rows as a markdown table."""
  lines = ["| defense | strength | median MSE | mean PSNR dB | mean SSIM | images recovered "
           "(MSE < 1e-3) | labels recovered | test accuracy |", "|---|---|---|---|---|---|---|---|"]
  lines += [f"| {r['defense']} | {r['strength']:g} | {r['mse']:.3g} | {r['psnr']:.1f} | "
            f"{r['ssim']:.3f} | {r['image_recovered']:.0%} | {r['label_recovered']:.0%} | "
            f"{r['accuracy']:.3f} |" for r in rows]
  return "\n".join(lines) + "\n"
