"""Options of the tff-course commands that several of them share; those every command
line of the project shares are in tff_course.arguments (--data-dir is the data layer's)."""

import sys

from tff_course.data.locate import add_data_dir

__all__ = ["add_data_dir", "add_overrides", "add_training_source", "note_dropped_options"]


def add_overrides(parser, help_text: str) -> None:
  """--set SECTION.FIELD=VALUE, repeatable, collected in `overrides`."""
  parser.add_argument("--set", dest="overrides", action="append", default=[],
                      metavar="SECTION.FIELD=VALUE", help=help_text)


def add_training_source(parser) -> None:
  """--dataset, --model, --limit, --seed and --data-dir of a distributed run (the fields of
  `tff_course.distributed.training_source.TrainingSource`)."""
  parser.add_argument("--dataset", default="cifar10", help="training data (default cifar10)")
  parser.add_argument("--model", default="cifar_convnet",
                      help="model name (default cifar_convnet, the course's CNN)")
  parser.add_argument("--limit", type=int, help="use at most this many examples per split")
  parser.add_argument("--seed", type=int, default=0)
  add_data_dir(parser)


def note_dropped_options(pairs) -> None:
  """Says on stderr, once per change, which data options an override of data.dataset
  dropped; `pairs` are (config before, config after the overrides)."""
  from tff_course.experiment.config import dropped_options

  notes = []
  for before, after in pairs:
    dropped = dropped_options(before, after)
    note = (f"tff-course: note: data.dataset {after.data.dataset} does not take the options "
            f"{', '.join(dropped)} of {before.data.dataset}; dropped them")
    if dropped and note not in notes:
      notes.append(note)
  for note in notes:
    print(note, file=sys.stderr)
