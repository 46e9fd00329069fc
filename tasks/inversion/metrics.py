"""How close a recovered image is to the original: the course's ||x - x'||_2, MSE, PSNR
(for pixel values in [0, 1]) and SSIM (Wang et al., 2004, via `tf.image.ssim`), and
whether the label was recovered.

For a batch, each original is paired with the recovered image of least MSE under a
one-to-one assignment (the attacks recover a batch in no particular order).
"""

from __future__ import annotations

from typing import Dict, List

import numpy as np
import tensorflow as tf
from scipy.optimize import linear_sum_assignment

DATA_RANGE = 1.0
SUCCESS_MSE = 1e-3


def l2_distance(original, recovered) -> float:
  """||original - recovered||_2 over all pixels."""
  return float(np.sqrt(np.sum(np.square(np.float64(original) - np.float64(recovered)))))


def mse(original, recovered) -> float:
  """Mean squared error per pixel value."""
  return float(np.mean(np.square(np.float64(original) - np.float64(recovered))))


def psnr(original, recovered) -> float:
  """10 log10(1 / MSE) in dB for values in [0, 1]; infinity for identical images."""
  error = mse(original, recovered)
  return float("inf") if error == 0 else float(10 * np.log10(DATA_RANGE ** 2 / error))


def ssim(original, recovered) -> float:
  """Mean SSIM of `tf.image.ssim` (11x11 Gaussian window, max value 1) over the batch;
  recovered values are clipped into [0, 1] first."""
  original = tf.convert_to_tensor(np.float32(original))
  recovered = tf.clip_by_value(tf.convert_to_tensor(np.float32(recovered)), 0.0, DATA_RANGE)
  return float(tf.reduce_mean(tf.image.ssim(original, recovered, max_val=DATA_RANGE)))


def match_order(originals, recovered) -> np.ndarray:
  """The index of the recovered image paired with each original (least total MSE)."""
  costs = np.array([[mse(o, r) for r in recovered] for o in originals])
  _, columns = linear_sum_assignment(costs)
  return columns


def reconstruction_metrics(originals, labels, recovered, recovered_labels) -> Dict:
  """Per-image and mean metrics of a recovered batch against the originals."""
  order = match_order(originals, recovered)
  per_image: List[Dict] = []
  for original, label, index in zip(originals, labels, order):
    guess = recovered[index]
    per_image.append({
        "l2": l2_distance(original, guess), "mse": mse(original, guess),
        "psnr": psnr(original, guess), "ssim": ssim(original[None], guess[None]),
        "label": int(label), "recovered_label": int(recovered_labels[index]),
        "label_recovered": bool(int(label) == int(recovered_labels[index]))})
  mean = {key: float(np.mean([m[key] for m in per_image]))
          for key in ("l2", "mse", "psnr", "ssim", "label_recovered")}
  mean["image_recovered"] = float(np.mean([m["mse"] < SUCCESS_MSE for m in per_image]))
  return {"mean": mean, "images": per_image}
