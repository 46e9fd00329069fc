"""`tff-course invert`: one gradient-inversion attack, the course's four experiments, or
the privacy-utility sweep."""

from __future__ import annotations

import dataclasses
import json
import sys

from tasks.inversion.attack_config import AttackConfig
from tff_course.arguments import add_out, add_renamed, add_setting_flags
from tff_course.data.locate import add_data_dir
from tff_course.errors import ConfigError

MODES = ("attack", "course", "sweep")


def add_parser(commands) -> None:
  """Adds the `invert` command to the `tff-course` subcommands."""
  parser = commands.add_parser(
      "invert", help="gradient inversion (DLG, iDLG, Inverting Gradients) and defenses",
      description="Recover a CIFAR-10 training image from the gradient a client shares. "
                  "MODE attack (default) runs one attack and writes config.json, "
                  "versions.json, metrics.json, progress.png, comparison.png and "
                  "recovered.npy into --out; course runs the four course experiments "
                  "(baseline, noise, pruning, quantization) and writes report.md; sweep "
                  "draws reconstruction quality and defended-training accuracy against "
                  "each defense's strength.",
      epilog="example: tff-course invert --attack dlg --image-index 3 --defense gaussian "
             "--strength 1e-2 --out runs/invert")
  parser.add_argument("mode", nargs="?", choices=MODES, default="attack")
  parser.add_argument("--attack", choices=("dlg", "idlg", "ig"), default="dlg")
  parser.add_argument("--model", default="dlg_lenet",
                      help="a tff_course model name (default dlg_lenet, DLG's sigmoid LeNet)")
  parser.add_argument("--image-index", type=_indices, metavar="I[,J...]",
                      help="CIFAR-10 training image(s); several form one client batch in "
                           "attack mode, separate runs in course and sweep modes (default "
                           "0; course: the setting's, 0,1,2)")
  parser.add_argument("--source", choices=("example", "fedsgd"), default="example",
                      help="the shared gradient: of the mean loss on the images, or as the "
                           "runner's FedSGD client work computes it")
  parser.add_argument("--defense", default="none",
                      choices=("none", "gaussian", "laplacian", "prune", "quantize"))
  parser.add_argument("--strength", type=float, default=0.0,
                      help="sigma (noise), fraction pruned, or bits (quantize)")
  add_renamed(parser, "--seeds", old=("--seed",), type=_indices, metavar="S[,T...]",
              help="seed(s) of the model, defense and dummy data (default 0); separate "
                   "runs in course and sweep modes")
  add_setting_flags(parser, "course: images 0-9, seeds 0 and 1",
                    "course: the assignment's parameters (it states no images or seeds: "
                    "the default's)")
  parser.add_argument("--iterations", type=int, default=300,
                      help="L-BFGS steps (dlg, idlg; up to 20 iterations each) or Adam steps "
                           "(ig); default 300")
  parser.add_argument("--learning-rate", type=float, default=AttackConfig.learning_rate,
                      help="ig: Adam's first step size (default %(default)s)")
  parser.add_argument("--tv-weight", type=float, default=AttackConfig.tv_weight,
                      help="ig: weight of the total-variation prior, on images in [0, 1] "
                           "(default %(default)s)")
  parser.add_argument("--line-search", choices=("none", "strong_wolfe"), default="none",
                      help="dlg, idlg: L-BFGS's line search (default none: DLG's fixed step)")
  parser.add_argument("--restarts", type=int, default=2,
                      help="dlg, idlg: failed attempts re-run from a fresh dummy (default 2)")
  parser.add_argument("--no-jit", action="store_true", help="do not compile with XLA")
  parser.add_argument("--train-examples", type=int, default=10000,
                      help="sweep: CIFAR-10 images for the defended training")
  parser.add_argument("--train-epochs", type=int, default=2, help="sweep: training epochs")
  add_renamed(parser, "--defenses", old=("--kinds",),
              default="gaussian,laplacian,prune,quantize",
              help="sweep: comma-separated defenses to sweep, each at its default "
                   "strengths (default: %(default)s)")
  add_data_dir(parser)
  add_out(parser, "output directory (default: %(default)s)", default="runs/invert")
  parser.set_defaults(handler=_handle)


def _indices(text: str):
  try:
    values = tuple(int(part) for part in text.split(","))
  except ValueError:
    raise ConfigError(f"got {text!r}, expected comma-separated whole numbers") from None
  if any(v < 0 for v in values):
    raise ConfigError(f"got {text!r}, expected whole numbers >= 0")
  return values


def _attack_config(args):
  from tasks.inversion.lbfgs_config import LbfgsConfig

  line_search = None if args.line_search == "none" else args.line_search
  return AttackConfig(attack=args.attack, iterations=args.iterations,
                      seed=args.seeds[0] if args.seeds else 0,
                      learning_rate=args.learning_rate, tv_weight=args.tv_weight,
                      jit_compile=not args.no_jit, restarts=args.restarts,
                      lbfgs=LbfgsConfig(line_search=line_search))


def _handle(args) -> int:
  from tff_course.output_paths import check_output_dir

  check_output_dir(args.out, "--out")
  if args.mode != "course":
    args.image_index, args.seeds = args.image_index or (0,), args.seeds or (0,)
  return {"attack": _single, "course": _course, "sweep": _sweep}[args.mode](args)


def _single(args) -> int:
  from tasks.inversion.experiment import (InversionConfig, run_inversion, summary_line,
                                          write_outputs)

  strength = int(args.strength) if args.defense == "quantize" else args.strength
  config = InversionConfig(attack=_attack_config(args), model=args.model,
                           image_indices=args.image_index, source=args.source,
                           defense=args.defense, strength=strength, seed=args.seeds[0])
  result, metrics, originals = run_inversion(config, args.data_dir)
  paths = write_outputs(args.out, config, result, metrics, originals)
  print(summary_line(metrics))
  print(f"wrote {', '.join(paths.values())}")
  return 1 if metrics["status"] == "diverged" else 0


def _course(args) -> int:
  from tasks.inversion.report import print_progress, run_course

  path = run_course(args.out, attack=_attack_config(args), model=args.model,
                    image_indices=args.image_index, seeds=args.seeds, data_dir=args.data_dir,
                    progress=print_progress, setting=args.setting)
  print(f"wrote {path}")
  return 0


def _sweep(args) -> int:
  from tasks.inversion.sweep import (DEFAULT_STRENGTHS, TrainingConfig, sweep, sweep_table,
                                     write_sweep)

  kinds = [k for k in args.defenses.split(",") if k]
  unknown = [k for k in kinds if k not in DEFAULT_STRENGTHS]
  if unknown:
    raise ConfigError(f"--defenses: got {unknown[0]!r}, expected some of "
                      f"{', '.join(DEFAULT_STRENGTHS)}")
  training = TrainingConfig(examples=args.train_examples, epochs=args.train_epochs)

  def progress(row):
    print(f"{row['defense']} {row['strength']:g}: MSE {row['mse']:.3g}, accuracy "
          f"{row['accuracy']:.3f}", file=sys.stderr, flush=True)

  strengths = {k: DEFAULT_STRENGTHS[k] for k in kinds}
  rows = sweep(strengths, model=args.model, image_indices=args.image_index, seeds=args.seeds,
               attack=_attack_config(args), training=training, data_dir=args.data_dir,
               progress=progress)
  config = {"strengths": strengths, "model": args.model, "image_indices": args.image_index,
            "seeds": args.seeds, "attack": dataclasses.asdict(_attack_config(args)),
            "training": dataclasses.asdict(training)}
  paths = write_sweep(args.out, rows, json.loads(json.dumps(config)))
  print(sweep_table(rows))
  print(f"wrote {', '.join(paths.values())}")
  return 0
