"""plot_runs: curves against rounds or another metrics column."""

import os
from unittest import mock

import tensorflow as tf
from matplotlib.axes import Axes

from tests.metrics_files import write_metrics
from tff_course.errors import ConfigError
from tff_course.plots import plot_runs


def write_run(run_dir, steps_per_round):
  write_metrics(run_dir, [
      {"round": r, "gradient_steps": r * steps_per_round, "test_accuracy": r / 10,
       "test_loss": 1 + r / 10, "train_accuracy": r / 10, "train_loss": 1 + r / 10}
      for r in (1, 2, 3)])
  return run_dir


class PlotRunsTest(tf.test.TestCase):

  def test_curves_against_gradient_steps_on_a_log_axis(self):
    root = self.create_tempdir().full_path
    runs = [write_run(os.path.join(root, "sgd"), 1), write_run(os.path.join(root, "j5"), 150)]
    plotted, labels, scales = [], [], []
    real_plot = Axes.plot

    def plot(ax, x, *rest, **kw):
      plotted.append(list(x))
      return real_plot(ax, x, *rest, **kw)

    with mock.patch.object(Axes, "plot", autospec=True, side_effect=plot), \
        mock.patch.object(Axes, "set_xlabel", autospec=True,
                          side_effect=lambda ax, label: labels.append(label)), \
        mock.patch.object(Axes, "set_xscale", autospec=True,
                          side_effect=lambda ax, scale: scales.append(scale)):
      path = plot_runs(runs, os.path.join(root, "steps.png"), x="gradient_steps", log_x=True)
    self.assertTrue(os.path.isfile(path))
    self.assertEqual(plotted, [[1, 2, 3], [150, 300, 450]] * 4)
    self.assertEqual(set(labels), {"gradient steps"})
    self.assertEqual(scales, ["log"] * 4)
    with self.assertRaisesRegex(ConfigError, "x='seconds' is not a column"):
      plot_runs(runs, os.path.join(root, "bad.png"), x="seconds")


if __name__ == "__main__":
  tf.test.main()
