"""Running a command-line `main(argv)` in-process for tests."""

import contextlib
import io


def run_main(main, *argv):
  """Runs `main(list(argv))`; returns (exit status, stdout, stderr)."""
  out, err = io.StringIO(), io.StringIO()
  with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
    try:
      status = main(list(argv))
    except SystemExit as exit_:
      status = exit_.code
  return status, out.getvalue(), err.getvalue()
