"""Pipeline schedules: their orders, bubble against (S - 1) / (M + S - 1), activation stash,
and a deadlocking order refused."""

import unittest

from absl.testing import parameterized

from tff_course.distributed.pipeline_schedule import (BACKWARD, FORWARD, Op, bubble_fraction,
                                                      ideal_bubble, issue_order, peak_stash,
                                                      stage_orders, timeline)
from tff_course.errors import ConfigError


class PipelineScheduleTest(parameterized.TestCase):

  def test_1f1b_order_of_the_first_stage(self):
    (first, _, last) = stage_orders("1f1b", 3, 4)
    self.assertEqual([str(op) for op in first],
                     ["F0@0", "F1@0", "F2@0", "B0@0", "F3@0", "B1@0", "B2@0", "B3@0"])
    self.assertEqual([str(op) for op in last],
                     ["F0@2", "B0@2", "F1@2", "B1@2", "F2@2", "B2@2", "F3@2", "B3@2"])

  @parameterized.product(schedule=("gpipe", "1f1b"), stages=(1, 2, 3, 4),
                         micro_batches=(1, 3, 6, 12))
  def test_bubble_is_the_ideal_with_even_stages(self, schedule, stages, micro_batches):
    orders = stage_orders(schedule, stages, micro_batches)
    for order in orders:
      self.assertEqual(sorted(op.kind for op in order),
                       [BACKWARD] * micro_batches + [FORWARD] * micro_batches)
    times = timeline(orders, forward_time=1.0, backward_time=2.0)
    self.assertAlmostEqual(bubble_fraction(times, stages), ideal_bubble(stages, micro_batches))
    self.assertAlmostEqual(max(end for _, end in times.values()),
                           (micro_batches + stages - 1) * 3.0)

  def test_1f1b_holds_fewer_activations(self):
    gpipe, one_f_one_b = stage_orders("gpipe", 3, 6), stage_orders("1f1b", 3, 6)
    self.assertEqual([peak_stash(order) for order in gpipe], [6, 6, 6])
    self.assertEqual([peak_stash(order) for order in one_f_one_b], [3, 2, 1])

  def test_issue_order_respects_every_dependency(self):
    orders = stage_orders("1f1b", 4, 5)
    issued = issue_order(orders)
    position = {op: index for index, op in enumerate(issued)}
    for op in issued:
      if op.kind == BACKWARD:
        self.assertLess(position[Op(op.stage, FORWARD, op.micro_batch)], position[op])
      if op.stage > 0 and op.kind == FORWARD:
        self.assertLess(position[Op(op.stage - 1, FORWARD, op.micro_batch)], position[op])

  def test_a_deadlocking_order_and_bad_sizes_are_one_line(self):
    orders = [[Op(0, BACKWARD, 0), Op(0, FORWARD, 0)], [Op(1, FORWARD, 0), Op(1, BACKWARD, 0)]]
    with self.assertRaisesRegex(ConfigError, r"^schedule deadlocks: B0@0, F0@1 wait on each "
                                             r"other$"):
      timeline(orders)
    with self.assertRaisesRegex(ConfigError, r"^micro_batches \(M\): got 0, expected an "
                                             r"integer >= 1$"):
      stage_orders("gpipe", 3, 0)
    with self.assertRaisesRegex(ConfigError, r"^schedule: got 'zb', expected one of gpipe, "
                                             r"1f1b$"):
      stage_orders("zb", 3, 2)

  def test_gantt_chart_is_drawn(self):
    import os
    import tempfile

    from tff_course.distributed.gantt import draw_gantt

    times = timeline(stage_orders("1f1b", 3, 4))
    with tempfile.TemporaryDirectory() as folder:
      path = draw_gantt(times, 3, 4, os.path.join(folder, "gantt.png"), title="1F1B")
      with open(path, "rb") as stream:
        self.assertEqual(stream.read(8), b"\x89PNG\r\n\x1a\n")


if __name__ == "__main__":
  unittest.main()
