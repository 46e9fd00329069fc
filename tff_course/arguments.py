"""Command-line options every command line of the project (tff-course, pruning, the
tasks) spells the same way: --out, the --full/--assignment settings, and renamed options
whose old spelling keeps working with a note."""

import argparse
import sys

from tff_course.course.settings import ASSIGNMENT, DEFAULT, FULL


class _OldSpelling(argparse.Action):
  """An option's former spelling: stores into the new one's attribute and says once, on
  stderr, how the option is spelled now."""

  def __init__(self, option_strings, dest, new, **kwargs):
    super().__init__(option_strings, dest, **kwargs)
    self.new = new
    self.noted = False

  def __call__(self, parser, namespace, values, option_string=None):
    if not self.noted:
      print(f"{parser.prog.split()[0]}: note: {option_string} is now spelled {self.new}; "
            f"the old spelling keeps working", file=sys.stderr)
      self.noted = True
    setattr(namespace, self.dest, values)


def add_renamed(parser, name: str, old=(), required: bool = False, **kwargs):
  """`parser.add_argument(name, **kwargs)`, also accepting each spelling in `old`: hidden
  from --help, stored in the same attribute, noted on stderr when used. Giving two
  spellings at once is an error; `required` asks for one of them."""
  if not old:
    return parser.add_argument(name, required=required, **kwargs)
  group = parser.add_mutually_exclusive_group(required=required)
  action = group.add_argument(name, **kwargs)
  for spelling in old:
    group.add_argument(spelling, dest=action.dest, type=action.type, metavar=action.metavar,
                       default=argparse.SUPPRESS, help=argparse.SUPPRESS,
                       action=_OldSpelling, new=name)
  return action


def add_out(parser, help_text: str, default=None, old=(), metavar: str = "DIR",
            required: bool = False):
  """--out: where the command writes (a directory, or a file), read as `args.out`."""
  return add_renamed(parser, "--out", old, required=required, default=default,
                     metavar=metavar, help=help_text)


def add_setting_flags(parser, full_help: str, assignment_help: str) -> None:
  """Adds --full and --assignment, exclusive, storing the setting in args.setting
  (default DEFAULT)."""
  size = parser.add_mutually_exclusive_group()
  size.add_argument("--full", dest="setting", action="store_const", const=FULL,
                    default=DEFAULT, help=full_help)
  size.add_argument("--assignment", dest="setting", action="store_const", const=ASSIGNMENT,
                    help=assignment_help)
