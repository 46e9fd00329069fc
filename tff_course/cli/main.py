"""The `tff-course` command: argument parsing and error reporting; work is in the library."""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from typing import List, Optional

from tff_course import __version__
from tff_course.cli import data_commands, experiment_commands, train_commands
from tff_course.errors import TffCourseError

PROG = "tff-course"


def build_parser() -> argparse.ArgumentParser:
  from tasks.inversion import cli as inversion_cli  # Imports TensorFlow: after main's log level.

  parser = argparse.ArgumentParser(
      prog=PROG,
      description="Federated learning and efficient ML experiments on TensorFlow "
                  "Federated: datasets, partitions, training, plots.",
      epilog="Run 'tff-course COMMAND --help' for a command's options.")
  parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
  parser.add_argument("--debug", action="store_true",
                      help="show full tracebacks of unexpected errors")
  commands = parser.add_subparsers(dest="command", metavar="COMMAND")
  commands.required = True
  data_commands.add_parser(commands)
  train_commands.add_parsers(commands)
  inversion_cli.add_parser(commands)
  experiment_commands.add_parser(commands)
  return parser


# TensorFlow's C++ log at "2" still prints grappler's harmless "Failed to detect the
# fetch node(s)" for TFF's empty-result computations; failures that matter reach
# Python as exceptions, which the CLI reports.
QUIET_TF_LOG_LEVEL = "3"


def main(argv: Optional[List[str]] = None) -> int:
  """Runs the command line; returns the exit status."""
  os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", QUIET_TF_LOG_LEVEL)
  parser = build_parser()
  args = parser.parse_args(argv)
  try:
    return args.handler(args) or 0
  except TffCourseError as error:
    print(f"{PROG}: error: {error}", file=sys.stderr)
    return 2
  except KeyboardInterrupt:
    print(f"{PROG}: interrupted", file=sys.stderr)
    return 130
  except Exception as error:  # The last line of defence: no bare tracebacks.
    if args.debug:
      traceback.print_exc()
    print(f"{PROG}: internal error: {type(error).__name__}: {error} (rerun with --debug "
          f"for the traceback, and please report it)", file=sys.stderr)
    return 1


def run() -> None:
  """Console-script entry point."""
  sys.exit(main())
