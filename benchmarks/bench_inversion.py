"""Gradient inversion (issue 6): DLG on DLG's sigmoid LeNet and CIFAR-10 training images.

1. One DLG attack to convergence on one 32x32 image, timed (target: within 60 s on 2
   cores), with TensorFlow limited to 2 threads.
2. The success rate (MSE < 1e-3 within 300 L-BFGS steps, a failed attempt restarted
   up to --restarts times) over --images images, and how often the restart policy's
   verdict agrees with the true MSE.
3. With --tfp-images N: DLG with TensorFlow Probability's L-BFGS on the first N of
   those images, models and dummies, next to the toolkit's L-BFGS.
4. The defenses against the same attack over --defense-images images (0: skipped).

--line-search strong_wolfe gives the toolkit's L-BFGS PyTorch's line search.

Prints markdown; with --append, adds it with date and machine to benchmarks/RESULTS.md.

  python benchmarks/bench_inversion.py --data-dir ../shared/data [--append]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# pylint: disable=wrong-import-position
from tasks.inversion.attacks import AttackConfig
from tasks.inversion.experiment import InversionConfig, run_inversion
from tasks.inversion.lbfgs import LbfgsConfig
from tasks.inversion.metrics import SUCCESS_MSE, mse
from results_file import append_section

TARGET_SECONDS = 60.0
DEFENSES = (("gaussian", 1e-3), ("gaussian", 1e-2), ("laplacian", 1e-2), ("prune", 0.2),
            ("prune", 0.3), ("prune", 0.5), ("quantize", 8), ("quantize", 4))


def attack(index: int, data_dir, base: AttackConfig, defense="none", strength=0.0):
  """Image `index` attacked with seed `index` (model, defense and dummy)."""
  config = InversionConfig(attack=dataclasses.replace(base, seed=index),
                           image_indices=(index,), defense=defense, strength=strength,
                           seed=index)
  start = time.perf_counter()
  metrics = run_inversion(config, data_dir)[1]
  metrics["wall"] = time.perf_counter() - start
  return metrics


def timing_section(data_dir, base: AttackConfig) -> list:
  metrics = attack(0, data_dir, base)
  mean = metrics["mean"]
  verdict = "met" if metrics["wall"] <= TARGET_SECONDS else "MISSED"
  return ["| image | MSE | label | status | L-BFGS steps | evaluations | attempts | attack s | "
          "wall s (with data, model, XLA compile) | target <= 60 s |",
          "|---|---|---|---|---|---|---|---|---|---|",
          f"| 0 | {mean['mse']:.2g} | {mean['label_recovered']:.0%} | {metrics['status']} | "
          f"{metrics['steps']} | {metrics['evaluations']} | {len(metrics['attempts'])} | "
          f"{metrics['seconds']:.1f} | {metrics['wall']:.1f} | {verdict} |"]


def success_section(rows, restarts: int) -> list:
  count = len(rows)
  successes = [m["mean"]["mse"] < SUCCESS_MSE for m in rows]
  first = [m["attempts"][0]["failure"] == "" for m in rows]
  seconds = [m["seconds"] for m in rows]
  steps = [m["steps"] for m in rows if m["mean"]["mse"] < SUCCESS_MSE]
  lines = ["| image (= seed) | MSE | PSNR dB | SSIM | label | status | steps | attempts "
           "(kept) | relative distance per attempt | s |",
           "|---|---|---|---|---|---|---|---|---|---|"]
  lines += [f"| {i} | {m['mean']['mse']:.2g} | {m['mean']['psnr']:.1f} | "
            f"{m['mean']['ssim']:.3f} | {m['mean']['label_recovered']:.0%} | {m['status']} | "
            f"{m['steps']} | {len(m['attempts'])} ({m['kept_attempt'] + 1}) | "
            f"{_distances(m)} | {m['seconds']:.1f} |" for i, m in enumerate(rows)]
  lines += ["", f"Images recovered (MSE < 1e-3): {sum(successes)} of {count} (up to "
                f"{restarts} restarts; the first attempt passed the restart policy for "
                f"{sum(first)} of {count}); labels recovered: "
                f"{sum(m['mean']['label_recovered'] for m in rows):g} of {count}; the "
                f"policy's verdict on the kept attempt against MSE: {_agreement(rows)}; "
                f"attack seconds (all attempts) median {statistics.median(seconds):.1f}, max "
                f"{max(seconds):.1f}; L-BFGS steps of the successes median "
                f"{statistics.median(steps) if steps else float('nan'):.0f}."]
  return lines


def _distances(metrics) -> str:
  return ", ".join(f"{a['relative_objective']:.1g}" for a in metrics["attempts"])


def _agreement(rows) -> str:
  """The restart policy's verdict on each kept attempt (from the attack's own signals)
  against the true MSE."""
  passed = [m["attempts"][m["kept_attempt"]]["failure"] == "" for m in rows]
  recovered = [m["mean"]["mse"] < SUCCESS_MSE for m in rows]
  count = lambda p, r: sum(a == p and b == r for a, b in zip(passed, recovered))
  return (f"passed and recovered {count(True, True)}, passed but not recovered "
          f"{count(True, False)}, failed but recovered {count(False, True)}, failed and not "
          f"recovered {count(False, False)}")


def defense_section(count: int, data_dir, base: AttackConfig) -> list:
  lines = ["| defense | strength | images recovered | median MSE | mean SSIM | labels "
           "recovered |", "|---|---|---|---|---|---|"]
  for kind, strength in DEFENSES:
    rows = [attack(index, data_dir, base, kind, strength) for index in range(count)]
    lines.append(
        f"| {kind} | {strength:g} | "
        f"{sum(m['mean']['mse'] < SUCCESS_MSE for m in rows)} of {count} | "
        f"{statistics.median(m['mean']['mse'] for m in rows):.3g} | "
        f"{statistics.mean(m['mean']['ssim'] for m in rows):.3f} | "
        f"{sum(m['mean']['label_recovered'] for m in rows):g} of {count} |")
    print(lines[-1], file=sys.stderr, flush=True)
  return lines


def tfp_section(ours, data_dir, base: AttackConfig) -> list:
  """DLG with TFP's L-BFGS next to the toolkit's on the same images, models and dummies."""
  from tasks.inversion.experiment import build_attacked_model, load_images
  from tasks.inversion.objectives import squared_norm
  from tasks.inversion.restarts import relative_distance
  from tasks.inversion.shared import shared_gradient
  from tasks.inversion.tfp_baseline import tfp_dlg

  lines = ["| image (= seed) | TFP MSE | TFP label | TFP iterations | TFP evaluations | "
           "TFP relative distance | TFP s | TFP stop | ours MSE | ours label |",
           "|---|---|---|---|---|---|---|---|---|---|"]
  recovered = labels = 0
  for index, metrics in enumerate(ours):
    _, images, truth = load_images((index,), data_dir)
    model = build_attacked_model("dlg_lenet", index)
    gradient = shared_gradient(model, images, truth)
    norm = float(squared_norm(gradient))
    result = tfp_dlg(model, gradient, 1, dataclasses.replace(base, seed=index))
    error = mse(images, result.images)
    recovered += error < SUCCESS_MSE
    labels += int(result.labels[0] == truth[0])
    lines.append(f"| {index} | {error:.2g} | {result.labels[0] == truth[0]:d} | "
                 f"{result.steps} | {result.evaluations} | "
                 f"{relative_distance(result.objective, norm):.1g} | "
                 f"{result.seconds:.1f} | {result.message.split(': ', 1)[1]} | "
                 f"{metrics['mean']['mse']:.2g} | {metrics['mean']['label_recovered']:.0f} |")
    print(lines[-1], file=sys.stderr, flush=True)
  ours_recovered = sum(m["mean"]["mse"] < SUCCESS_MSE for m in ours)
  lines += ["", f"TFP's L-BFGS (up to {base.iterations * base.lbfgs.max_iter} iterations, "
                f"history {base.lbfgs.history_size}, gradient tolerance "
                f"{base.lbfgs.tolerance_grad:g}, one attempt): images recovered {recovered} "
                f"of {len(ours)}, labels {labels} of {len(ours)}; the toolkit's L-BFGS on the "
                f"same images: images {ours_recovered} of {len(ours)}."]
  return lines


def main() -> int:
  import tensorflow as tf

  parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
  parser.add_argument("--data-dir", help="directory with cifar10/ (default: $TFF_COURSE_DATA_DIR)")
  parser.add_argument("--images", type=int, default=20)
  parser.add_argument("--defense-images", type=int, default=4, help="0: no defenses")
  parser.add_argument("--tfp-images", type=int, default=0,
                      help="DLG with TFP's L-BFGS on the first N of the images (default 0)")
  parser.add_argument("--restarts", type=int, default=2,
                      help="failed attempts re-run from a fresh dummy (default 2)")
  parser.add_argument("--line-search", choices=("none", "strong_wolfe"), default="none")
  parser.add_argument("--append", action="store_true", help="append to benchmarks/RESULTS.md")
  args = parser.parse_args()
  tf.config.threading.set_intra_op_parallelism_threads(2)
  tf.config.threading.set_inter_op_parallelism_threads(2)
  base = AttackConfig(restarts=args.restarts, lbfgs=LbfgsConfig(
      line_search=None if args.line_search == "none" else args.line_search))
  ours = []

  def success():
    ours.extend(attack(index, args.data_dir, base) for index in range(args.images))
    return success_section(ours, args.restarts)

  sections = [("One DLG attack to convergence", lambda: timing_section(args.data_dir, base)),
              (f"DLG success over {args.images} images", success)]
  if args.tfp_images:
    sections.append((f"DLG with TensorFlow Probability's L-BFGS, {args.tfp_images} images",
                     lambda: tfp_section(ours[:args.tfp_images], args.data_dir, base)))
  if args.defense_images:
    sections.append((f"Defenses, {args.defense_images} images each",
                     lambda: defense_section(args.defense_images, args.data_dir, base)))
  parts = []
  for title, section in sections:
    parts.append(f"### {title}\n\n" + "\n".join(section()) + "\n")
    print(parts[-1], flush=True)
  text = "\n".join(parts)
  if args.append:
    append_section("Gradient inversion (issue 6)",
                   "python benchmarks/bench_inversion.py --data-dir DIR --append", text)
  return 0


if __name__ == "__main__":
  sys.exit(main())
