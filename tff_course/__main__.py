"""`python -m tff_course`: the same as the `tff-course` command."""

from tff_course.cli.main import run

if __name__ == "__main__":
  run()
