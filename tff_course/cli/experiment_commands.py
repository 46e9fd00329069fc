"""`tff-course experiment NAME`: the course's classic experiments, one command each."""

from __future__ import annotations

import argparse
import os
import sys
import textwrap

from tff_course.arguments import add_out, add_setting_flags
from tff_course.cli.options import add_data_dir, add_overrides, note_dropped_options

NAME_WIDTH = 18


def add_parser(commands) -> None:
  from tff_course.course.registry import EXPERIMENTS

  listing = "\n".join(f"  {name:{NAME_WIDTH}} {e.title}\n  {'':{NAME_WIDTH}} ({e.duration})"
                      for name, e in EXPERIMENTS.items())
  parser = commands.add_parser(
      "experiment", help="run one of the course's experiments and write its report",
      description=textwrap.fill(
                  "Run a course experiment: its runs (each resumable), its plots and a "
                  "markdown report (OUT/report.md) that answers the assignment's "
                  "questions with the measured numbers. The default setting is sized for "
                  "2 cores; --full runs the full-size setting, --assignment the "
                  "parameters the assignment states. NAME 'all' runs every experiment "
                  "in turn (resumably), the gradient-inversion experiments of "
                  "'tff-course invert course' last, and writes an index report linking "
                  "them.", width=88),
      epilog=f"experiments:\n{listing}\n\nexamples:\n  tff-course experiment quantized "
             f"--data-dir ../shared/data\n  tff-course experiment all --assignment "
             f"--data-dir ../shared/data",
      formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("name", metavar="NAME", choices=list(EXPERIMENTS) + ["all", "list"],
                      help="the experiment, 'all' of them, or 'list' to list them")
  add_setting_flags(parser, "the full-size setting",
                    "exactly the parameters the assignment states, where it states them "
                    "(the report says where the default differs, and why)")
  parser.add_argument("--rounds", type=int,
                      help="override every run's number of rounds (e.g. 2, with --out "
                           "elsewhere, for a smoke test)")
  add_overrides(parser, "override a config field of every run, e.g. "
                        "data.samples_per_client=50 (repeatable); runs outside the "
                        "federated runner (NumPy, distributed jobs) take data.dataset and "
                        "data.limit only")
  add_out(parser, "where it writes (default: runs/experiments/NAME, with -full or "
                  "-assignment appended for those settings; for 'all', the directory "
                  "that holds them, default runs/experiments)", old=("--run-dir",))
  add_data_dir(parser)
  parser.add_argument("--no-progress", action="store_true", help="no progress bars")
  parser.set_defaults(handler=_experiment)


def _experiment(args) -> int:
  from tff_course.course import course_experiment, plan_arms, run_course_experiment
  from tff_course.course.registry import EXPERIMENTS
  from tff_course.course.settings import run_dir_name
  from tff_course.output_paths import check_output_dir, removed_if_left_empty
  from tff_course.runtime import install_context

  if args.name == "list":
    for name, experiment in EXPERIMENTS.items():
      print(f"{name:{NAME_WIDTH}} {experiment.title} ({experiment.duration})")
    print(f"{'all':{NAME_WIDTH}} every experiment above, then 'tff-course invert course' "
          f"(gradient inversion), and an index report")
    return 0
  if args.name == "all":
    return _every_experiment(args)
  experiment = course_experiment(args.name)
  arms = plan_arms(experiment, setting=args.setting, overrides=args.overrides,
                   rounds=args.rounds)
  note_dropped_options((before.config, after.config)
                       for before, after in zip(experiment.arms(args.setting), arms)
                       if before.config is not None)
  run_dir = args.out or os.path.join("runs", "experiments",
                                    run_dir_name(args.name, args.setting))
  check_output_dir(run_dir, "--out")
  if any(arm.config is not None for arm in arms):
    install_context(log_path=os.path.join(run_dir, "worker.log"))
  with removed_if_left_empty(run_dir):
    report = run_course_experiment(experiment, run_dir, setting=args.setting,
                                   data_dir=args.data_dir, overrides=args.overrides,
                                   rounds=args.rounds, progress=not args.no_progress)
  print(f"run directory: {run_dir}\nreport: {report}")
  return 0


def every_entries() -> list:
  """What `experiment all` runs: the registered course experiments, then the gradient-
  inversion experiments (`tff-course invert course`), which live in tasks."""
  from tasks.inversion.report import course_entry
  from tff_course.course.every_experiment import course_entries

  return course_entries(extra=[course_entry()])


def _every_experiment(args) -> int:
  from tff_course.course.every_experiment import run_every_experiment
  from tff_course.errors import ConfigError
  from tff_course.output_paths import check_output_dir, removed_if_left_empty
  from tff_course.runtime import install_context

  if args.overrides:
    raise ConfigError("--set: 'experiment all' runs experiments whose runs differ in "
                      "different fields; run the one experiment with --set instead")
  parent = args.out or os.path.join("runs", "experiments")
  check_output_dir(parent, "--out")
  install_context(log_path=os.path.join(parent, "worker.log"))
  with removed_if_left_empty(parent):
    index, failed = run_every_experiment(parent, setting=args.setting,
                                         data_dir=args.data_dir, rounds=args.rounds,
                                         progress=not args.no_progress,
                                         entries=every_entries())
  print(f"index: {index}")
  if failed:
    print(f"tff-course: {len(failed)} experiment(s) failed: {', '.join(failed)}; see the "
          f"index, fix what it says, and run the same command again", file=sys.stderr)
    return 1
  return 0
