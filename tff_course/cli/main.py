"""The `tff-course` command: argument parsing and error reporting; work is in the library."""

from __future__ import annotations

import argparse
from typing import List, Optional

from tff_course import __version__
from tff_course.cli.dispatch import dispatch, run_command_line

PROG = "tff-course"


def build_parser() -> argparse.ArgumentParser:
  """The parser of every command; the commands' modules (numpy and more) are imported
  here, inside the entry point's Ctrl-C handling."""
  from tasks.diffusion import cli as diffusion_cli
  from tasks.inversion import cli as inversion_cli
  from tff_course.cli import (data_commands, distributed_commands, experiment_commands,
                              sparse_commands, train_commands, worker_command)

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
  diffusion_cli.add_parser(commands)
  experiment_commands.add_parser(commands)
  sparse_commands.add_parser(commands)
  distributed_commands.add_parser(commands)
  worker_command.add_parser(commands)
  return parser


def main(argv: Optional[List[str]] = None) -> int:
  """Runs the command line; returns the exit status."""
  return dispatch(PROG, build_parser, argv)


def run() -> None:
  """Console-script entry point."""
  run_command_line(PROG, build_parser)
