"""Running a command-line program's parsed command, its errors as one line.

Shared by `tff-course` and `pruning`. TensorFlow's C++ log is quiet (`tff_course.tf_log`).
"""

from __future__ import annotations

import sys
import traceback
from typing import Callable, List, Optional

from tff_course.errors import TffCourseError


def dispatch(prog: str, build_parser: Callable, argv: Optional[List[str]]) -> int:
  """Parses `argv` with the parser `build_parser()` makes, runs the chosen handler and
  returns the exit status: 2 for the toolkit's errors, 130 for Ctrl-C, 1 with a
  one-line report for anything else."""
  args = build_parser().parse_args(argv)
  try:
    return args.handler(args) or 0
  except TffCourseError as error:
    print(f"{prog}: error: {error}", file=sys.stderr)
    return 2
  except KeyboardInterrupt:
    print(f"{prog}: interrupted", file=sys.stderr)
    return 130
  except Exception as error:  # The last line of defence: no bare tracebacks.
    if getattr(args, "debug", False):
      traceback.print_exc()
    print(f"{prog}: internal error: {type(error).__name__}: {error} (rerun with --debug "
          f"for the traceback, and please report it)", file=sys.stderr)
    return 1
