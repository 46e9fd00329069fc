"""Writing a run's metrics.csv by hand, for tests of what reads it."""

import os


def write_metrics(run_dir, rows):
  """run_dir/metrics.csv with the columns of rows[0]; None is an empty cell."""
  os.makedirs(run_dir, exist_ok=True)
  names = list(rows[0])
  with open(os.path.join(run_dir, "metrics.csv"), "w") as stream:
    stream.write(",".join(names) + "\n")
    for row in rows:
      stream.write(",".join("" if row[n] is None else str(row[n]) for n in names) + "\n")
