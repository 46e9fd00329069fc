"""The `pruning` command: train the reference network, prune it, score and export `.h5`.

  pruning train --data-dir DIR --out runs/pruning
  pruning prune runs/pruning/reference.h5 --method gradual_magnitude --sparsity 0.9 \\
      --out pruned.h5
  pruning score pruned.h5
  pruning frontier runs/pruning/reference.h5 --out runs/frontier
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import time
from typing import List, Optional

from tff_course.cli.dispatch import dispatch, run_command_line
from tff_course.arguments import add_out
from tff_course.data.locate import add_data_dir
from tff_course.errors import ConfigError
from tff_course.output_paths import check_output_dir, check_output_file

PROG = "pruning"


def build_parser() -> argparse.ArgumentParser:
  parser = argparse.ArgumentParser(
      prog=PROG, formatter_class=argparse.RawDescriptionHelpFormatter,
      description="Prune the course's reference network (5 CIFAR-10 classes, a "
                  "592,958-parameter perceptron) as far as possible while test "
                  "accuracy stays above 0.6. score = (accuracy + zero parameters / all "
                  "parameters) / 2 when accuracy > 0.6 and sparsity > 0, else 0.",
      epilog="Run 'pruning COMMAND --help' for a command's options.\n\n" +
             __doc__.split("\n\n", 1)[1])
  parser.add_argument("--debug", action="store_true",
                      help="show full tracebacks of unexpected errors")
  commands = parser.add_subparsers(dest="command", metavar="COMMAND")
  commands.required = True
  _add_train(commands)
  _add_score(commands)
  _add_prune(commands)
  _add_frontier(commands)
  listing = commands.add_parser("methods", help="list the pruning methods")
  listing.set_defaults(handler=_methods)
  return parser


def main(argv: Optional[List[str]] = None) -> int:
  """Runs the command line; returns the exit status."""
  return dispatch(PROG, build_parser, argv)


def run() -> None:
  """Console-script entry point."""
  run_command_line(PROG, build_parser)


def _add_train(commands) -> None:
  parser = commands.add_parser(
      "train", help="train the reference network and record its accuracy",
      description="Trains the reference network from its seed (Adam, 50 epochs by "
                  "default) and writes reference.h5, metrics.csv (per epoch: train, "
                  "validation and test accuracy) and config.json into --out.")
  add_data_dir(parser)
  add_out(parser, "where to write the run (default: %(default)s)",
          default="runs/pruning-reference", old=("--output-dir",))
  parser.add_argument("--epochs", type=int, default=50, help="default: %(default)s")
  parser.add_argument("--batch-size", type=int, default=64, help="default: %(default)s")
  parser.add_argument("--learning-rate", type=float, default=1e-3,
                      help="Adam's learning rate (default: %(default)s)")
  parser.add_argument("--seed", type=int, default=0, help="default: %(default)s")
  parser.set_defaults(handler=_train)


def _add_score(commands) -> None:
  parser = commands.add_parser(
      "score", help="score an .h5 file as the autograder does",
      description="Loads MODEL.h5 into the reference architecture (refusing a file of "
                  "another one) and prints test accuracy, sparsity and score.")
  parser.add_argument("model", metavar="MODEL.h5")
  add_data_dir(parser)
  parser.set_defaults(handler=_score)


def _add_prune(commands) -> None:
  parser = commands.add_parser(
      "prune", help="prune a trained .h5 with one method and export the result",
      description="Prunes MODEL.h5 to --sparsity with --method, writes --out (.h5, "
                  "zeros in place), reloads it and checks that it scores the same.")
  parser.add_argument("model", metavar="MODEL.h5", help="a trained reference model")
  parser.add_argument("--method", required=True, help="see 'pruning methods'")
  parser.add_argument("--sparsity", type=float, required=True,
                      help="target fraction of zero parameters, in [0, 1)")
  add_out(parser, "the .h5 file to write", metavar="OUT.h5", old=("--output",), required=True)
  add_data_dir(parser)
  _add_budget(parser)
  parser.set_defaults(handler=_prune)


def _add_frontier(commands) -> None:
  from pruning.frontier import SPARSITIES

  parser = commands.add_parser(
      "frontier", help="every method at every sparsity: table, plot, best model",
      description="Prunes MODEL.h5 with every method at every sparsity (and tfmot's "
                  "prune_low_magnitude as a reference line) and writes frontier.csv, "
                  "frontier.md, frontier.png, best.h5 (the best test score of our "
                  "methods) and config.json into --out. Rerunning into the same "
                  "directory resumes.")
  parser.add_argument("model", metavar="MODEL.h5", help="a trained reference model")
  add_out(parser, "where to write the frontier (default: %(default)s)",
          default="runs/pruning-frontier", old=("--output-dir",))
  parser.add_argument("--methods", nargs="+", default=None,
                      help="default: all of 'pruning methods'")
  parser.add_argument("--sparsities", nargs="+", type=float, default=list(SPARSITIES),
                      help="default: %(default)s")
  parser.add_argument("--no-tfmot", action="store_true",
                      help="leave out the tfmot reference line")
  add_data_dir(parser)
  _add_budget(parser)
  parser.set_defaults(handler=_frontier)


def _add_budget(parser) -> None:
  from pruning.methods import PruneSettings

  defaults = PruneSettings()
  group = parser.add_argument_group("budget (the same for every method)")
  group.add_argument("--fine-tune-epochs", type=int, default=defaults.fine_tune.epochs,
                     help="masked training after pruning (default: %(default)s)")
  group.add_argument("--gradual-epochs", type=int, default=defaults.gradual_epochs,
                     help="epochs of gradual pruning's sparsity ramp (default: %(default)s)")
  group.add_argument("--snip-epochs", type=int, default=defaults.snip_epochs,
                     help="SNIP's training from initialisation (default: %(default)s)")
  group.add_argument("--batch-size", type=int, default=defaults.fine_tune.batch_size,
                     help="default: %(default)s")
  group.add_argument("--learning-rate", type=float,
                     default=defaults.fine_tune.learning_rate, help="default: %(default)s")
  group.add_argument("--seed", type=int, default=defaults.fine_tune.seed,
                     help="default: %(default)s")


def _settings(args):
  from pruning.methods import PruneSettings
  from pruning.training import FitSettings

  return PruneSettings(
      fine_tune=FitSettings(epochs=args.fine_tune_epochs, batch_size=args.batch_size,
                            learning_rate=args.learning_rate, seed=args.seed),
      gradual_epochs=args.gradual_epochs, snip_epochs=args.snip_epochs)


def _train(args) -> int:
  from pruning.export import save_h5
  from pruning.reference import load_task
  from pruning.runs import train_reference, write_config, write_metrics
  from pruning.score import score_model
  from pruning.training import FitSettings

  check_output_dir(args.out, "--out")
  settings = FitSettings(epochs=args.epochs, batch_size=args.batch_size,
                         learning_rate=args.learning_rate, seed=args.seed)
  data = load_task(args.data_dir)
  write_config(args.out, "train", dataclasses.asdict(settings), data)
  model, rows = train_reference(data, settings, on_epoch_end=_print_epoch)
  write_metrics(rows, os.path.join(args.out, "metrics.csv"))
  path = save_h5(model, os.path.join(args.out, "reference.h5"))
  print(f"wrote {path}")
  if rows:
    print(f"trained {args.epochs} epochs in {rows[-1]['seconds']:.0f} s; validation "
          f"accuracy {rows[-1]['val_accuracy']:.4f} ({len(data.validation)} held-out "
          f"training images)")
  print(score_model(model, data.test).describe())
  return 0


def _print_epoch(epoch: int, row) -> None:
  print(f"epoch {epoch:3d}  loss {row['loss']:.4f}  train {row['accuracy']:.4f}  "
        f"validation {row['val_accuracy']:.4f}  test {row['test_accuracy']:.4f}",
        flush=True)


def _score(args) -> int:
  from pruning.export import load_h5
  from pruning.reference import load_test
  from pruning.score import score_model

  model = load_h5(args.model)
  print(score_model(model, load_test(args.data_dir)).describe())
  return 0


def _prune(args) -> int:
  from pruning.export import load_h5, save_h5
  from pruning.masks import check_target_sparsity
  from pruning.methods import get_method
  from pruning.reference import load_task
  from pruning.score import score_model

  method = get_method(args.method)
  check_target_sparsity(args.sparsity)
  settings = _settings(args)
  if not args.out.endswith(".h5"):
    raise ConfigError(f"--out: got {args.out!r}, expected a file name ending in .h5")
  check_output_file(args.out, "--out")
  model = load_h5(args.model)
  data = load_task(args.data_dir)
  start = time.perf_counter()
  result = method(model, data, args.sparsity, settings=settings)
  print(f"{args.method} to {args.sparsity} in {time.perf_counter() - start:.0f} s")
  in_memory = score_model(result.model, data.test)
  save_h5(result.model, args.out)
  reloaded = score_model(load_h5(args.out), data.test)
  if reloaded != in_memory:
    raise ConfigError(f"{args.out}: reloaded file scores {reloaded.score} but the model "
                      f"in memory scored {in_memory.score}")
  print(in_memory.describe())
  print(f"wrote {args.out} (reloaded: same score)")
  return 0


def _frontier(args) -> int:
  from pruning import frontier
  from pruning.export import load_h5, save_h5
  from pruning.masks import check_target_sparsity
  from pruning.methods import METHODS
  from pruning.reference import load_task
  from pruning.runs import write_config
  from tff_course.atomic import write_text

  check_output_dir(args.out, "--out")
  methods = frontier.check_methods(list(args.methods or METHODS) +
                                   ([] if args.no_tfmot else [frontier.TFMOT]))
  for sparsity in args.sparsities:
    check_target_sparsity(sparsity)
  settings = _settings(args)
  model = load_h5(args.model)
  data = load_task(args.data_dir)
  write_config(args.out, "frontier",
               {"model": os.path.abspath(args.model), "methods": methods,
                "sparsities": args.sparsities, **frontier.settings_record(settings)}, data)
  table = os.path.join(args.out, frontier.TABLE_FILE)
  done = frontier.resume_points(args.out)

  def save(point, result) -> None:
    points.append(point)
    frontier.write_csv(points, table)
    if frontier.best(points) is point:
      save_h5(result.model, os.path.join(args.out, "best.h5"))
    print(f"{point.method:28s} target {point.target:<5g} sparsity {point.sparsity:.4f}  "
          f"val {point.validation_accuracy:.4f}  test {point.test_accuracy:.4f}  score "
          f"{point.score:.4f}  {point.seconds:.0f} s", flush=True)

  points = list(done)
  frontier.sweep(model, data, methods=methods, sparsities=args.sparsities,
                 settings=settings, done=done, on_point=save)
  markdown = frontier.markdown_table(points)
  write_text(os.path.join(args.out, "frontier.md"), markdown + "\n")
  frontier.plot(points, os.path.join(args.out, "frontier.png"),
                title=f"Pruning the reference network ({len(data.test)} test images)")
  print(markdown)
  top = frontier.best(points)
  print("no point scored above 0: best.h5 not written" if top is None else
        f"best score {top.score:.4f}: {top.method} at sparsity {top.sparsity:.4f} "
        f"(best.h5)")
  return 0


def _methods(_args) -> int:
  from pruning.methods import METHODS
  from pruning.tfmot_reference import NAME

  width = max(map(len, [*METHODS, NAME]))
  for name, method in METHODS.items():
    print(f"{name:{width}s}  {method.__doc__.splitlines()[0]}")
  print(f"{NAME:{width}s}  reference line only (tensorflow-model-optimization)")
  return 0
