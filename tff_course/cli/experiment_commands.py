"""`tff-course experiment NAME`: the course's classic experiments, one command each."""

from __future__ import annotations

import argparse
import os

from tff_course.cli.options import add_data_dir, add_out, add_overrides, note_dropped_options


def add_parser(commands) -> None:
  from tff_course.course.registry import EXPERIMENTS

  listing = "\n".join(f"  {name:16} {e.title}\n  {'':16} ({e.duration})"
                      for name, e in EXPERIMENTS.items())
  parser = commands.add_parser(
      "experiment", help="run one of the course's experiments and write its report",
      description="Run a course experiment: its runs (each resumable), its plots and a "
                  "markdown report (OUT/report.md). The default setting is sized for "
                  "2 cores; --full runs the full-size setting.",
      epilog=f"experiments:\n{listing}\n\nexample: tff-course experiment quantized "
             f"--data-dir ../shared/data",
      formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("name", metavar="NAME", choices=list(EXPERIMENTS) + ["list"],
                      help="the experiment (or 'list' to list them)")
  parser.add_argument("--full", action="store_true", help="the full-size setting")
  parser.add_argument("--rounds", type=int,
                      help="override every run's number of rounds (e.g. 2, with --out "
                           "elsewhere, for a smoke test)")
  add_overrides(parser, "override a config field of every run, e.g. "
                        "data.samples_per_client=50 (repeatable)")
  add_out(parser, "where it writes (default: runs/experiments/NAME, with -full appended "
                  "for --full)", old=("--run-dir",))
  add_data_dir(parser)
  parser.add_argument("--no-progress", action="store_true", help="no progress bars")
  parser.set_defaults(handler=_experiment)


def _experiment(args) -> int:
  from tff_course.course import course_experiment, plan_arms, run_course_experiment
  from tff_course.course.registry import EXPERIMENTS
  from tff_course.output_paths import check_output_dir, removed_if_left_empty
  from tff_course.runtime import install_context

  if args.name == "list":
    for name, experiment in EXPERIMENTS.items():
      print(f"{name:16} {experiment.title} ({experiment.duration})")
    return 0
  experiment = course_experiment(args.name)
  arms = plan_arms(experiment, full=args.full, overrides=args.overrides, rounds=args.rounds)
  note_dropped_options((before.config, after.config)
                       for before, after in zip(experiment.arms(args.full), arms)
                       if before.config is not None)
  run_dir = args.out or os.path.join("runs", "experiments",
                                         args.name + ("-full" if args.full else ""))
  check_output_dir(run_dir, "--out")
  install_context(log_path=os.path.join(run_dir, "worker.log"))
  with removed_if_left_empty(run_dir):
    report = run_course_experiment(experiment, run_dir, full=args.full,
                                   data_dir=args.data_dir, overrides=args.overrides,
                                   rounds=args.rounds, progress=not args.no_progress)
  print(f"run directory: {run_dir}\nreport: {report}")
  return 0
