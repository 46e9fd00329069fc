"""`python -m pruning ...` runs the `pruning` command."""

from pruning.cli import run

if __name__ == "__main__":
  run()
