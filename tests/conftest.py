"""pytest set-up for tf.test.TestCase classes, and the Hypothesis profile.

The "tff_course" profile (loaded unless HYPOTHESIS_PROFILE names another) prints, with
every failing example, the `@reproduce_failure(version, blob)` decorator that replays
it on any machine; `pytest --hypothesis-seed=N` repeats a whole run.
"""

import os

from hypothesis import settings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

settings.register_profile("tff_course", print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "tff_course"))


def pytest_configure(config):
  del config
  from absl import flags
  flags.FLAGS.mark_as_parsed()


LONGEST_FIRST = ("test_notebook_runs_1.py", "test_notebook_runs_2.py",
                 "test_task_arithmetic_course.py", "test_label_skew_course.py",
                 "test_sparse_sweeps_course.py", "test_calibration_sweeps_course.py",
                 "test_sparse_course.py", "test_workers.py", "test_runner.py",
                 "test_runtime.py", "test_diffusion_training.py")


def pytest_collection_modifyitems(config, items):
  """Drops tf.test.TestCase's inherited `test_session`, which is a helper, not a test,
  and hands out the longest test files first (the longest-first order lets `-n N
  --dist loadfile` end its processes close together; the list follows the clean-clone
  CI's durations)."""
  kept = [item for item in items if item.name != "test_session"]
  if len(kept) != len(items):
    config.hook.pytest_deselected(items=[i for i in items if i.name == "test_session"])
  rank = {name: index for index, name in enumerate(LONGEST_FIRST)}
  items[:] = sorted(kept, key=lambda item: rank.get(item.path.name, len(rank)))
