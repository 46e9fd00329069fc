"""pytest set-up for tf.test.TestCase classes."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def pytest_configure(config):
  del config
  from absl import flags
  flags.FLAGS.mark_as_parsed()


def pytest_collection_modifyitems(config, items):
  """Drops tf.test.TestCase's inherited `test_session`, which is a helper, not a test."""
  kept = [item for item in items if item.name != "test_session"]
  if len(kept) != len(items):
    config.hook.pytest_deselected(items=[i for i in items if i.name == "test_session"])
    items[:] = kept
