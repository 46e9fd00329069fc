"""`tff-course train`, `tff-course demo` and `tff-course plot`."""

from __future__ import annotations

import os
import sys

from tff_course.arguments import add_out
from tff_course.cli.options import add_data_dir, add_overrides, note_dropped_options
from tff_course.errors import ConfigError

PRESETS = ("demo", "demo-mnist")


def add_parsers(commands) -> None:
  train = commands.add_parser(
      "train", help="run (or resume) a federated experiment from a config",
      description="Run a federated experiment described by a JSON config (or a preset: "
                  f"{', '.join(PRESETS)}). Re-running the same command resumes from the "
                  "last checkpoint. Writes config.json, versions.json, metrics.csv, "
                  "TensorBoard logs, checkpoints, curves.png and, once finished, the final "
                  "model's weights (model.weights.h5) into the run directory.",
      epilog="example: tff-course train demo --set train.rounds=10 --seeds 0,1,2")
  train.add_argument("config", help="a JSON config file, or a preset name")
  add_overrides(train, "override a config field, e.g. train.rounds=50 (repeatable)")
  train.add_argument("--seeds", help="comma-separated seeds, run one after the other, "
                                     "with mean and std at the end (default: the config's)")
  _add_common(train)
  train.set_defaults(handler=_train)

  demo = commands.add_parser(
      "demo", help="FedAvg on the built-in synthetic data (or MNIST) in about a minute",
      description="Run FedAvg on FedProx's Synthetic(1, 1) data (no files needed), or on "
                  "MNIST with --dataset mnist, then write metrics and a plot.")
  demo.add_argument("--dataset", choices=("synthetic", "mnist"), default="synthetic")
  _add_common(demo)
  demo.set_defaults(handler=_demo)

  plot = commands.add_parser(
      "plot", help="draw accuracy and loss curves of one or more runs",
      description="Plot test/train accuracy and loss against rounds for run directories "
                  "(multi-seed runs as mean and std band), per-group accuracy, and the "
                  "difference to a baseline run.")
  plot.add_argument("run_dirs", nargs="+", metavar="RUN_DIR")
  plot.add_argument("--baseline", help="a run to subtract from the others' test accuracy")
  plot.add_argument("--labels", help="comma-separated legend labels, one per run")
  plot.add_argument("--title", default="")
  add_out(plot, "PNG to write (default: curves.png)", default="curves.png", metavar="FILE.png")
  plot.set_defaults(handler=_plot)


def _add_common(parser) -> None:
  add_out(parser, "where the run writes (default: runs/NAME)", old=("--run-dir",))
  add_data_dir(parser)
  parser.add_argument("--no-progress", action="store_true", help="no progress bar")
  parser.add_argument("--workers", metavar="N | HOST:PORT,...",
                      help="run each round on N local TFF workers, or on running "
                           "`tff-course worker`s at these addresses: each takes a share of "
                           "the round's clients (same as --set train.workers=...)")


def _load(config_arg: str):
  from tff_course.experiment.config import load_config
  from tff_course.experiment.presets import demo_config

  if config_arg in PRESETS:
    return demo_config("mnist" if config_arg == "demo-mnist" else "synthetic")
  if not os.path.exists(config_arg):
    raise ConfigError(f"config: {config_arg!r} is neither a file nor a preset "
                      f"({', '.join(PRESETS)})")
  return load_config(config_arg)


def _seeds(text, default: int):
  if not text:
    return [default]
  try:
    return [int(part) for part in text.split(",") if part.strip()]
  except ValueError:
    raise ConfigError(f"--seeds: got {text!r}, expected whole numbers separated by "
                      f"commas, e.g. 0,1,2") from None


def _execute(config, args) -> int:
  from tff_course.experiment.seeds import run_seeds
  from tff_course.output_paths import check_output_dir, removed_if_left_empty
  from tff_course.plots import plot_runs
  from tff_course.runtime import install_context

  run_dir = args.out or os.path.join("runs", config.name)
  check_output_dir(run_dir, "--out")
  seeds = _seeds(getattr(args, "seeds", None), config.train.seed)
  install_context(log_path=os.path.join(run_dir, "worker.log"))
  with removed_if_left_empty(run_dir):
    summary = run_seeds(config, run_dir, seeds, data_dir=args.data_dir,
                        progress=not args.no_progress)
  curves = plot_runs([run_dir], os.path.join(run_dir, "curves.png"), title=config.name)
  _report(summary, seeds)
  print(f"run directory: {run_dir}\ncurves: {curves}")
  return 0


def _report(summary, seeds) -> None:
  names = [n for n in ("test_accuracy", "test_loss", "train_loss") if n in
           next(iter(summary["runs"].values()))]
  if len(seeds) == 1:
    final = next(iter(summary["runs"].values()))
    print("final round: " + ", ".join(f"{n} {final[n]:.4f}" for n in names))
  else:
    print(f"final round over {len(seeds)} seeds: " + ", ".join(
        f"{n} {summary['mean'][n]:.4f} +- {summary['std'][n]:.4f}" for n in names))


def _worker_overrides(args):
  return [f"train.workers={args.workers}"] if args.workers else []


def _train(args) -> int:
  loaded = _load(args.config)
  config = loaded.with_overrides(args.overrides + _worker_overrides(args))
  note_dropped_options([(loaded, config)])
  return _execute(config, args)


def _demo(args) -> int:
  from tff_course.experiment.presets import demo_config

  return _execute(demo_config(args.dataset).with_overrides(_worker_overrides(args)), args)


def _plot(args) -> int:
  from tff_course.output_paths import check_output_file
  from tff_course.plots import plot_runs

  check_output_file(args.out, "--out")
  labels = args.labels.split(",") if args.labels else None
  if labels and len(labels) != len(args.run_dirs):
    raise ConfigError(f"--labels: got {len(labels)} labels for {len(args.run_dirs)} runs")
  path = plot_runs(args.run_dirs, args.out, baseline=args.baseline, labels=labels,
                   title=args.title)
  print(f"curves: {path}", file=sys.stdout)
  return 0
