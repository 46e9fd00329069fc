"""Command-line options that several commands share."""


def add_data_dir(parser) -> None:
  """--data-dir: where the official dataset files are."""
  parser.add_argument("--data-dir",
                      help="directory holding the official dataset files (default: "
                           "$TFF_COURSE_DATA_DIR; without either, real datasets download "
                           "through tensorflow-datasets)")


def add_overrides(parser, help_text: str) -> None:
  """--set SECTION.FIELD=VALUE, repeatable, collected in `overrides`."""
  parser.add_argument("--set", dest="overrides", action="append", default=[],
                      metavar="SECTION.FIELD=VALUE", help=help_text)
