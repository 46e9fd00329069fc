"""Gradient inversion (issue 6): DLG on DLG's sigmoid LeNet and CIFAR-10 training images.

1. One DLG attack to convergence on one 32x32 image, timed (target: within 60 s on 2
   cores), with TensorFlow limited to 2 threads.
2. The success rate (MSE < 1e-3 within 300 L-BFGS steps, a failed attempt restarted
   up to --restarts times) over --images images, and how often the restart policy's
   verdict agrees with the true MSE.
3. The defenses against the same attack over --defense-images images (0: skipped).

Prints markdown; with --append, adds it with date and machine to benchmarks/RESULTS.md.

  python benchmarks/bench_inversion.py --data-dir ../shared/data [--append]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# pylint: disable=wrong-import-position
from tasks.inversion.attacks import AttackConfig
from tasks.inversion.experiment import InversionConfig, run_inversion
from tasks.inversion.metrics import SUCCESS_MSE
from results_file import append_section

TARGET_SECONDS = 60.0
DEFENSES = (("gaussian", 1e-3), ("gaussian", 1e-2), ("laplacian", 1e-2), ("prune", 0.2),
            ("prune", 0.3), ("prune", 0.5), ("quantize", 8), ("quantize", 4))


def attack(index: int, seed: int, data_dir, defense="none", strength=0.0, iterations=300,
           restarts=2):
  config = InversionConfig(attack=AttackConfig(iterations=iterations, seed=seed,
                                               restarts=restarts),
                           image_indices=(index,), defense=defense, strength=strength,
                           seed=seed)
  start = time.perf_counter()
  metrics = run_inversion(config, data_dir)[1]
  metrics["wall"] = time.perf_counter() - start
  return metrics


def timing_section(data_dir, restarts: int) -> list:
  metrics = attack(0, 0, data_dir, restarts=restarts)
  mean = metrics["mean"]
  verdict = "met" if metrics["wall"] <= TARGET_SECONDS else "MISSED"
  return ["| image | MSE | label | status | L-BFGS steps | evaluations | attempts | attack s | "
          "wall s (with data, model, XLA compile) | target <= 60 s |",
          "|---|---|---|---|---|---|---|---|---|---|",
          f"| 0 | {mean['mse']:.2g} | {mean['label_recovered']:.0%} | {metrics['status']} | "
          f"{metrics['steps']} | {metrics['evaluations']} | {len(metrics['attempts'])} | "
          f"{metrics['seconds']:.1f} | {metrics['wall']:.1f} | {verdict} |"]


def success_section(count: int, data_dir, restarts: int) -> list:
  rows = [attack(index, index, data_dir, restarts=restarts) for index in range(count)]
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
            f"{_distances(m)} | "
            f"{m['seconds']:.1f} |" for i, m in enumerate(rows)]
  lines += ["", f"Images recovered (MSE < 1e-3): {sum(successes)} of {count} (up to "
                f"{restarts} restarts; the first attempt passed the restart policy for "
                f"{sum(first)} of {count}); labels recovered: "
                f"{sum(m['mean']['label_recovered'] for m in rows):g} of {count}; policy "
                f"verdict against MSE: {_agreement(rows)}; attack seconds (all attempts) "
                f"median {statistics.median(seconds):.1f}, max {max(seconds):.1f}; L-BFGS "
                f"steps of the successes median "
                f"{statistics.median(steps) if steps else float('nan'):.0f}."]
  return lines


def _distances(metrics) -> str:
  return ", ".join(f"{a['relative_objective']:.1g}" for a in metrics["attempts"])


def _agreement(rows) -> str:
  """How often the restart policy's verdict on the kept attempt (from the attack's own
  signals) agrees with the true MSE."""
  kept = [m["attempts"][m["kept_attempt"]]["failure"] == "" for m in rows]
  recovered = [m["mean"]["mse"] < SUCCESS_MSE for m in rows]
  return (f"{sum(k and r for k, r in zip(kept, recovered))} judged and recovered, "
          f"{sum(k and not r for k, r in zip(kept, recovered))} judged but not recovered, "
          f"{sum(r and not k for k, r in zip(kept, recovered))} recovered but judged failed")


def defense_section(count: int, data_dir, restarts: int) -> list:
  lines = ["| defense | strength | images recovered | median MSE | mean SSIM | labels "
           "recovered |", "|---|---|---|---|---|---|"]
  for kind, strength in DEFENSES:
    rows = [attack(index, index, data_dir, kind, strength, restarts=restarts)
            for index in range(count)]
    lines.append(
        f"| {kind} | {strength:g} | "
        f"{sum(m['mean']['mse'] < SUCCESS_MSE for m in rows)} of {count} | "
        f"{statistics.median(m['mean']['mse'] for m in rows):.3g} | "
        f"{statistics.mean(m['mean']['ssim'] for m in rows):.3f} | "
        f"{sum(m['mean']['label_recovered'] for m in rows):g} of {count} |")
    print(lines[-1], file=sys.stderr, flush=True)
  return lines


def main() -> int:
  import tensorflow as tf

  parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
  parser.add_argument("--data-dir", help="directory with cifar10/ (default: $TFF_COURSE_DATA_DIR)")
  parser.add_argument("--images", type=int, default=20)
  parser.add_argument("--defense-images", type=int, default=4, help="0: no defenses")
  parser.add_argument("--restarts", type=int, default=2,
                      help="failed attempts re-run from a fresh dummy (default 2)")
  parser.add_argument("--append", action="store_true", help="append to benchmarks/RESULTS.md")
  args = parser.parse_args()
  tf.config.threading.set_intra_op_parallelism_threads(2)
  tf.config.threading.set_inter_op_parallelism_threads(2)
  sections = [("One DLG attack to convergence",
               lambda: timing_section(args.data_dir, args.restarts)),
              (f"DLG success over {args.images} images",
               lambda: success_section(args.images, args.data_dir, args.restarts)),
              (f"Defenses, {args.defense_images} images each",
               lambda: defense_section(args.defense_images, args.data_dir, args.restarts))]
  sections = sections[:2] if args.defense_images == 0 else sections
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
