"""Sparse fine-tuning benchmarks (issue 16), on the real pre-trained ResNet-20. Each writes
a section to RESULTS.md with --append.

  fisher  Fisher scores (squared per-example gradients) per 1,000 Fashion-MNIST examples:
          seconds and peak resident memory, for several gradient batch sizes
  round   a sparse FedAvg round (masks of density 0.1) against a dense one (all eligible
          weights open) and plain FedAvg: seconds a round and bytes clients send; K = 100
          IID clients, C = 0.1, J = 4 steps of B = 32
  accuracy  test accuracy against mask density for the five rules: centralized sparse
          fine-tuning (SGDM, cosine) of the same start, masks calibrated in 4 rounds

  python benchmarks/bench_sparse.py fisher --data-dir ../shared/data --append
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

# pylint: disable=wrong-import-position
import numpy as np

from results_file import append_section

DATASET = "fashion_mnist_rgb32"


def _peak_rss_mib() -> float:
  return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def fisher(args) -> tuple:
  from tff_course.checkpoints.pretrained import load_pretrained
  from tff_course.data import load_dataset
  from tff_course.data.pipeline import model_inputs
  from tff_course.sparse.fisher import fisher_diagonal
  from tff_course.sparse.head import with_new_head

  dataset = load_dataset(DATASET, data_dir=args.data_dir)
  images = model_inputs(dataset.train.x[:1000], dataset.modality)
  model = with_new_head(load_pretrained("resnet20_cifar10", data_dir=args.data_dir), 10)
  rows = ["| examples per traced call | seconds per 1,000 examples | peak RSS "
          "after (MiB) |", "|---|---|---|"]
  for batch in (4, 16, 64):
    fisher_diagonal(model, images[:batch], batch_size=batch)
    start = time.perf_counter()
    fisher_diagonal(model, images, batch_size=batch)
    rows.append(f"| {batch} | {time.perf_counter() - start:.1f} | {_peak_rss_mib():,.0f} |")
  body = ("ResNet-20 (269,722 weights, head for 10 classes), sampled targets, log p(y|x); "
          "every call traces its function again, so the timed call includes one trace.\n\n"
          + "\n".join(rows))
  return "Sparse: Fisher scores of ResNet-20 per 1,000 examples", body


def round_cost(args) -> tuple:
  from tff_course.experiment.metrics_file import read_metrics
  from tff_course.experiment.runner import run_experiment
  from tff_course.sparse.mask_set import load_masks, save_masks
  from tff_course.experiment.presets import sparse_fedavg_config
  from tff_course.sparse.prepare import MASKS, PrepareSettings, prepare

  work = args.work or tempfile.mkdtemp(prefix="bench-sparse-")
  prepared = os.path.join(work, "prepared")
  summary = prepare(PrepareSettings(density=0.1), prepared, data_dir=args.data_dir,
                    progress=False)
  masks = load_masks(os.path.join(prepared, MASKS))
  eligible = set(summary["eligible"])
  dense_masks = os.path.join(work, "dense-masks.npz")
  save_masks(dense_masks, {key: (np.ones_like(mask) if key in eligible else mask * 0)
                           for key, mask in masks.items()})
  rounds = args.rounds
  arms = {
      "sparse FedAvg, density 0.1": dict(),
      "sparse FedAvg, all eligible open": dict(masks=dense_masks),
      "plain FedAvg (dense client SGDM)": dict(algorithm="fedavg", masks=None,
                                               client_slots=0),
  }
  rows = ["| run | seconds a round (median of rounds 2 and later, no evaluation) | bytes up "
          "a round | bytes down a round |", "|---|---|---|---|"]
  for label, changes in arms.items():
    config = sparse_fedavg_config(summary, prepared, args.data_dir, name="bench", rounds=rounds,
                               eval_every=rounds, checkpoint_every=rounds, **changes)
    run_dir = os.path.join(work, label.split(",")[0].replace(" ", "-") + str(len(rows)))
    run_experiment(config, run_dir, data_dir=args.data_dir, progress=False)
    columns = read_metrics(run_dir)
    seconds = statistics.median(columns["seconds"][1:-1])
    rows.append(f"| {label} | {seconds:.2f} | {int(columns['bytes_up'][0]):,} | "
                f"{int(columns['bytes_down'][0]):,} |")
  body = (f"ResNet-20 from its CIFAR-10 checkpoint, {DATASET}, K = 100 IID clients, C = 0.1, "
          f"J = 4 steps of B = 32, {rounds} rounds each (the first, which traces, and the "
          f"last, which evaluates, left out). Bytes down count the model only (the masks "
          f"are broadcast too, 1 bit an entry if packed).\n\n" + "\n".join(rows))
  return "Sparse: a sparse FedAvg round against dense ones", body


ACCURACY_DENSITIES = (0.01, 0.1, 0.3)


def accuracy_by_rule(args) -> tuple:
  from tff_course.checkpoints.pretrained import load_pretrained
  from tff_course.data import load_dataset
  from tff_course.data.pipeline import model_inputs
  from tff_course.sparse.calibration import (RULES, CalibrationSettings, calibrate_masks,
                                             eligible_keys)
  from tff_course.sparse.finetune import FinetuneSettings, accuracy, finetune
  from tff_course.sparse.fisher import fisher_sensitivity
  from tff_course.sparse.head import fit_head, with_new_head
  from tff_course.sparse.mask_set import variable_key
  from tff_course.sparse.task_vectors import model_weights, set_model_weights

  dataset = load_dataset(DATASET, data_dir=args.data_dir)
  train_x = model_inputs(dataset.train.x[:args.examples], dataset.modality)
  train_y = dataset.train.y[:args.examples]
  test_x = model_inputs(dataset.test.x[:args.test_examples], dataset.modality)
  test_y = dataset.test.y[:args.test_examples]
  model = with_new_head(load_pretrained("resnet20_cifar10", data_dir=args.data_dir), 10)
  fit_head(model, train_x, train_y, method="train")
  eligible = eligible_keys(model)
  start = model_weights(model, [variable_key(v) for v in model.weights])
  calibration = slice(args.examples, args.examples + 512)
  sensitivity = fisher_sensitivity(
      model_inputs(dataset.train.x[calibration], dataset.modality),
      dataset.train.y[calibration], eligible)
  settings = FinetuneSettings(steps=args.steps, batch_size=32, learning_rate=0.01,
                              schedule="cosine")
  head_only = accuracy(model, test_x, test_y)
  results, seconds = {}, {}
  for density in ACCURACY_DENSITIES + (1.0,):
    for rule in RULES if density < 1 else ("random",):
      set_model_weights(model, start)
      began = time.perf_counter()
      masks = calibrate_masks(model, CalibrationSettings(density, 4 if density < 1 else 1,
                                                         rule), eligible, sensitivity)
      finetune(model, masks, train_x, train_y, settings)
      results[(rule, density)] = accuracy(model, test_x, test_y)
      seconds[(rule, density)] = time.perf_counter() - began
      print(f"{rule} d={density:g}: {100 * results[(rule, density)]:.2f} % "
            f"({seconds[(rule, density)]:.0f} s)", file=sys.stderr, flush=True)
  dense = results[("random", 1.0)]
  rows = ["| rule | " + " | ".join(f"d = {d:g}" for d in ACCURACY_DENSITIES) + " |",
          "|---|" + "---|" * len(ACCURACY_DENSITIES)]
  for rule in RULES:
    rows.append(f"| {rule.replace('_', ' ')} | " + " | ".join(
        f"{100 * results[(rule, d)]:.2f} %" for d in ACCURACY_DENSITIES) + " |")
  _accuracy_figure(results, dense, head_only, args.figure)
  body = (f"ResNet-20 from its CIFAR-10 checkpoint with a head trained on {args.examples:,} "
          f"{DATASET} examples (head alone: {100 * head_only:.2f} %); masks over all weights "
          f"but the head, calibrated in 4 rounds on 512 further examples (sensitivity rules: "
          f"Fisher with sampled targets); then {args.steps} SparseSGDM steps (B = 32, lr "
          f"0.01, momentum 0.9, cosine) on the same {args.examples:,} examples; accuracy on "
          f"the first {args.test_examples:,} test images (s.e. about "
          f"{100 * np.sqrt(0.2 / args.test_examples):.1f} pt). Every eligible weight open: "
          f"{100 * dense:.2f} %. One seed; about "
          f"{statistics.median(seconds.values()):.0f} s per cell. Figure: "
          f"`{os.path.relpath(args.figure)}`.\n\n" + "\n".join(rows))
  return "Sparse: accuracy against mask density for the five rules", body


def _accuracy_figure(results, dense, head_only, path) -> None:
  import matplotlib

  matplotlib.use("Agg")
  import matplotlib.pyplot as plt

  from tff_course.atomic import atomic_path
  from tff_course.sparse.calibration import RULES

  figure, axis = plt.subplots(figsize=(6, 3.8))
  for rule in RULES:
    axis.plot(ACCURACY_DENSITIES, [100 * results[(rule, d)] for d in ACCURACY_DENSITIES],
              marker="o", label=rule.replace("_", " "))
  axis.axhline(100 * dense, color="black", linestyle="--", label="dense (all eligible)")
  axis.axhline(100 * head_only, color="grey", linestyle=":", label="head only")
  axis.set_xscale("log")
  axis.set_xlabel("mask density")
  axis.set_ylabel("test accuracy (%)")
  axis.set_title("Centralized sparse fine-tuning, ResNet-20 -> Fashion-MNIST", fontsize=9)
  axis.legend(fontsize=7)
  figure.tight_layout()
  with atomic_path(path) as temp:
    figure.savefig(temp, dpi=120)
  plt.close(figure)


def main() -> int:
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
  parser.add_argument("benchmark", choices=("fisher", "round", "accuracy"))
  parser.add_argument("--data-dir", help="the data directory (fashion-mnist/, weights/)")
  parser.add_argument("--rounds", type=int, default=8, help="rounds per run (round)")
  parser.add_argument("--work", help="where runs go (default: a temporary directory)")
  parser.add_argument("--examples", type=int, default=5000,
                      help="training examples for the head and fine-tuning (accuracy)")
  parser.add_argument("--test-examples", type=int, default=2000,
                      help="test images measured (accuracy)")
  parser.add_argument("--steps", type=int, default=300, help="fine-tuning steps (accuracy)")
  parser.add_argument("--figure", default=os.path.join(os.path.dirname(
      os.path.abspath(__file__)), "sparse-accuracy.png"), help="the figure (accuracy)")
  parser.add_argument("--append", action="store_true", help="append to benchmarks/RESULTS.md")
  args = parser.parse_args()
  title, body = {"fisher": fisher, "round": round_cost,
                 "accuracy": accuracy_by_rule}[args.benchmark](args)
  print(f"## {title}\n\n{body}")
  if args.append:
    append_section(title, " ".join(["python", "benchmarks/bench_sparse.py"] + sys.argv[1:]),
                   body)
  return 0


if __name__ == "__main__":
  sys.exit(main())
