"""Running a command-line `main(argv)` in-process for tests."""

import contextlib
import io
import os
import re


def run_main(main, *argv):
  """Runs `main(list(argv))`; returns (exit status, stdout, stderr)."""
  out, err = io.StringIO(), io.StringIO()
  with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
    try:
      status = main(list(argv))
    except SystemExit as exit_:
      status = exit_.code
  return status, out.getvalue(), err.getvalue()


def renamed_note(prog, old, new="--out"):
  """The line `prog` prints on stderr for an option given in its old spelling."""
  return f"{prog}: note: {old} is now spelled {new}; the old spelling keeps working"


def check_out_spellings(test, run, prog, argv, spellings):
  """`argv` + SPELLING PATH, PATH beneath a file, is refused naming --out for every
  spelling; each old one (not --out) first prints its note, once."""
  afile = os.path.join(test.create_tempdir().full_path, "a-file")
  with open(afile, "w") as stream:
    stream.write("x")
  under = os.path.join(afile, "out.h5")
  for spelling in spellings:
    with test.subTest(argv=argv, spelling=spelling):
      status, _, err = run(*argv, spelling, under)
      test.assertEqual(status, 2, err)
      lines = err.strip().splitlines()
      test.assertEqual(lines[:-1], [] if spelling == "--out" else [renamed_note(prog, spelling)])
      test.assertRegex(lines[-1], f"^{prog}: error: --out: got '{re.escape(under)}', which "
                                  f"lies under the file")


def check_help_spellings(test, run, argv, shown, hidden):
  """`argv --help` lists the option `shown` and none of the spellings `hidden`."""
  status, out, _ = run(*argv, "--help")
  test.assertEqual(status, 0, argv)
  test.assertRegex(out, rf"\n  {shown} [A-Z]", argv)
  for spelling in hidden:
    test.assertNotRegex(out, rf"{spelling}\b(?!-)", argv)
