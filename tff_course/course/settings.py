"""The sizes a course experiment runs at: the default (sized for 2 cores), the full-size
setting, and the parameters its assignment states."""

from __future__ import annotations

from tff_course.errors import ConfigError

DEFAULT = "default"
FULL = "full"
ASSIGNMENT = "assignment"
SETTINGS = (DEFAULT, FULL, ASSIGNMENT)

DESCRIPTIONS = {
    DEFAULT: "default (sized for 2 cores)",
    FULL: "full size (--full)",
    ASSIGNMENT: "the assignment's parameters (--assignment)",
}


def check_setting(setting: str) -> str:
  """The setting, or ConfigError naming the valid ones."""
  if setting not in SETTINGS:
    raise ConfigError(f"setting: got {setting!r}, expected one of {', '.join(SETTINGS)}")
  return setting


def run_dir_name(name: str, setting: str) -> str:
  """The default run directory's name: NAME, NAME-full or NAME-assignment."""
  return name if check_setting(setting) == DEFAULT else f"{name}-{setting}"


def add_setting_flags(parser, full_help: str, assignment_help: str) -> None:
  """Adds --full and --assignment, exclusive, storing the setting in args.setting
  (default DEFAULT)."""
  size = parser.add_mutually_exclusive_group()
  size.add_argument("--full", dest="setting", action="store_const", const=FULL,
                    default=DEFAULT, help=full_help)
  size.add_argument("--assignment", dest="setting", action="store_const", const=ASSIGNMENT,
                    help=assignment_help)
