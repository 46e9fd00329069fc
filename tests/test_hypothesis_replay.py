"""A failing Hypothesis test prints how to replay its example, and the replay works."""

import ast
import re
import unittest

from hypothesis import given, reproduce_failure, settings
from hypothesis import strategies as st


def failing_property():
  """A property that fails for n >= 500, with no example database to remember it."""
  seen = []

  @settings(database=None)
  @given(st.integers(0, 1000))
  def half_are_small(n):
    seen.append(n)
    assert n < 500

  return half_are_small, seen


class ReplayTest(unittest.TestCase):

  def test_failure_prints_a_blob_that_replays_the_example(self):
    prop, _ = failing_property()
    with self.assertRaises(AssertionError) as caught:
      prop()
    notes = "\n".join(getattr(caught.exception, "__notes__", []))
    found = re.search(r"@reproduce_failure\('([^']+)', (b'[^']*')\)", notes)
    self.assertIsNotNone(found, notes)
    self.assertIn("n=500", notes)
    version, blob = found.group(1), ast.literal_eval(found.group(2))
    replayed, seen = failing_property()
    with self.assertRaises(AssertionError):
      reproduce_failure(version, blob)(replayed)()
    self.assertEqual(seen, [500])


if __name__ == "__main__":
  unittest.main()
