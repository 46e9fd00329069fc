"""Running a command-line program's parsed command: errors as one line, Ctrl-C as exit
130 at any moment, output to a closed pipe not fatal.

Shared by `tff-course` and `pruning`. TensorFlow's C++ log is quiet (`tff_course.tf_log`).
"""

from __future__ import annotations

import sys
import traceback
from typing import Callable, List, Optional

from tff_course.cli.interrupts import catch_interrupts, was_interrupted
from tff_course.cli.streams import tolerate_closed_output
from tff_course.errors import TffCourseError
from tff_course.runtime.worker import stop_all_workers

INTERRUPTED_STATUS = 130


def run_command_line(prog: str, build_parser: Callable) -> None:
  """A console script's entry point: runs `dispatch` on sys.argv with Ctrl-C and closed
  pipes handled for the whole process, then exits with its status."""
  with catch_interrupts(), tolerate_closed_output(prog):
    status = dispatch(prog, build_parser, None)
    status = _stop_workers(prog, status)
  sys.exit(status)


def dispatch(prog: str, build_parser: Callable, argv: Optional[List[str]]) -> int:
  """Parses `argv` with the parser `build_parser()` makes, runs the chosen handler and
  returns the exit status: 2 for the toolkit's errors, 130 for Ctrl-C (also when the
  interrupt surfaced as another error, or was dropped by Python), 1 with a one-line
  report for anything else."""
  args = None
  try:
    args = build_parser().parse_args(argv)
    status = args.handler(args) or 0
  except KeyboardInterrupt:
    return _interrupted(prog)
  except TffCourseError as error:
    if was_interrupted():
      return _interrupted(prog)
    print(f"{prog}: error: {error}", file=sys.stderr)
    return 2
  except Exception as error:  # The last line of defence: no bare tracebacks.
    if was_interrupted():
      return _interrupted(prog)
    if getattr(args, "debug", False):
      traceback.print_exc()
    print(f"{prog}: internal error: {type(error).__name__}: {error} (rerun with --debug "
          f"for the traceback, and please report it)", file=sys.stderr)
    return 1
  return _interrupted(prog) if was_interrupted() else status


def _stop_workers(prog: str, status: int) -> int:
  """Stops TFF's workers now, while Ctrl-C is still handled (at exit it would not be)."""
  try:
    stop_all_workers()
  except KeyboardInterrupt:
    return _interrupted(prog)
  return status


def _interrupted(prog: str) -> int:
  print(f"{prog}: interrupted", file=sys.stderr)
  return INTERRUPTED_STATUS
