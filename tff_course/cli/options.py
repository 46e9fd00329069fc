"""Command-line options that several commands share (--data-dir is the data layer's)."""

from tff_course.data.locate import add_data_dir

__all__ = ["add_data_dir", "add_overrides"]


def add_overrides(parser, help_text: str) -> None:
  """--set SECTION.FIELD=VALUE, repeatable, collected in `overrides`."""
  parser.add_argument("--set", dest="overrides", action="append", default=[],
                      metavar="SECTION.FIELD=VALUE", help=help_text)
