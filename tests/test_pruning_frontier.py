import os

import tensorflow as tf

from pruning import frontier
from pruning.export import save_h5
from pruning.frontier import Point, best, markdown_table, plot, read_csv, write_csv
from pruning.export import load_h5
from pruning.score import count_zeros
from pruning.training import accuracy
from pruning.reference import load_task
from tests.fake_cifar import separating_reference, write_fake_cifar10
from tests.test_pruning_cli import run_cli
from tests.test_pruning_export import pruned_reference
from tff_course.errors import ConfigError, DataError

POINTS = [
    Point("global_magnitude", 0.9, 900, 1000, 0.70, 0.72, 10.0),
    Point("global_magnitude", 0.98, 980, 1000, 0.66, 0.59, 12.0),
    Point("snip", 0.9, 901, 1000, 0.74, 0.69, 30.0),
    Point(frontier.TFMOT, 0.9, 900, 1000, 0.90, 0.95, 20.0),
]


class PointTest(tf.test.TestCase):

  def test_scores_follow_the_autograder(self):
    self.assertAlmostEqual(POINTS[0].score, (0.72 + 0.9) / 2)
    self.assertEqual(POINTS[1].score, 0.0)
    self.assertAlmostEqual(POINTS[2].validation_score, (0.74 + 0.901) / 2)

  def test_best_ignores_the_reference_line(self):
    self.assertIs(best(POINTS), POINTS[0])
    self.assertIs(best(POINTS, key="validation_score"), POINTS[2])
    self.assertIsNone(best([POINTS[1], POINTS[3]]))

  def test_table_marks_the_best(self):
    table = markdown_table(POINTS).splitlines()
    self.assertIn("0.8100 ★ |", table[2])
    self.assertIn("(val-best)", table[4])
    self.assertNotIn("★", table[5])

  def test_csv_round_trip_and_plot(self):
    directory = self.create_tempdir().full_path
    path = os.path.join(directory, "frontier.csv")
    write_csv(POINTS, path)
    self.assertEqual(read_csv(path), POINTS)
    image = plot(POINTS, os.path.join(directory, "f.png"))
    with open(image, "rb") as stream:
      self.assertEqual(stream.read(8), b"\x89PNG\r\n\x1a\n")

  def test_bad_inputs(self):
    path = os.path.join(self.create_tempdir().full_path, "frontier.csv")
    with open(path, "w", encoding="utf-8") as stream:
      stream.write("method,target\nsnip,high\n")
    with self.assertRaisesRegex(DataError, "not a frontier table"):
      read_csv(path)
    with self.assertRaisesRegex(ConfigError, "no points to draw"):
      plot([], path + ".png")
    with self.assertRaisesRegex(ConfigError, "method: got 'obd'"):
      frontier.check_methods(["snip", "obd"])


class FrontierCommandTest(tf.test.TestCase):
  """On a fake CIFAR-10: an untrained model's frontier does not depend on the images."""

  def data_dir(self):
    return write_fake_cifar10(self.create_tempdir().full_path)

  def test_writes_everything_and_resumes(self):
    directory = self.create_tempdir().full_path
    model = save_h5(pruned_reference(), os.path.join(directory, "m.h5"))
    out = os.path.join(directory, "frontier")
    argv = ["frontier", model, "--out", out, "--data-dir", self.data_dir(),
            "--methods", "global_magnitude", "l1_filters", "--sparsities", "0.9", "0.95",
            "--no-tfmot", "--fine-tune-epochs", "0"]
    status, text, err = run_cli(*argv)
    self.assertEqual(status, 0, err)
    # An untrained model stays below 0.6 accuracy: nothing scores, so no best.h5.
    self.assertEqual(sorted(os.listdir(out)), ["config.json", "frontier.csv", "frontier.md",
                                               "frontier.png"])
    self.assertIn("no point scored above 0: best.h5 not written", text)
    points = read_csv(os.path.join(out, "frontier.csv"))
    self.assertEqual([(p.method, p.target) for p in points],
                     [("global_magnitude", 0.9), ("global_magnitude", 0.95),
                      ("l1_filters", 0.9), ("l1_filters", 0.95)])
    for p in points:
      self.assertGreaterEqual(p.sparsity, p.target)
    self.assertIn("| global_magnitude | 0.9 |", text)
    status, text, err = run_cli(*argv)
    self.assertEqual(status, 0, err)
    self.assertEqual(read_csv(os.path.join(out, "frontier.csv")), points)
    status, _, err = run_cli(*argv[:-1], "1")
    self.assertEqual(status, 2)
    self.assertIn("holds a run with other settings", err)

  def test_bad_sparsity_before_any_work(self):
    status, _, err = run_cli("frontier", "absent.h5", "--sparsities", "0.5", "1.2")
    self.assertEqual(status, 2)
    self.assertIn("target sparsity: got 1.2, expected a number in [0, 1)", err)


class BestModelTest(tf.test.TestCase):
  """best.h5 on a fake CIFAR-10 (no dataset files needed) that a hand-set reference
  network separates: every point scores, so best.h5 must be the best one's model."""

  def test_best_h5_is_the_best_points_model(self):
    directory = self.create_tempdir().full_path
    data_dir = write_fake_cifar10(os.path.join(directory, "data"))
    model = save_h5(separating_reference(), os.path.join(directory, "m.h5"))
    out = os.path.join(directory, "frontier")
    status, text, err = run_cli("frontier", model, "--out", out, "--data-dir", data_dir,
                                "--methods", "global_magnitude", "layerwise_magnitude",
                                "--sparsities", "0.95", "0.5", "--no-tfmot",
                                "--fine-tune-epochs", "0")
    self.assertEqual(status, 0, err)
    points = read_csv(os.path.join(out, "frontier.csv"))
    self.assertLen(points, 4)
    for p in points:
      self.assertEqual(p.test_accuracy, 1.0)
    top = max(points, key=lambda p: p.score)
    self.assertEqual(top.target, 0.95)
    self.assertNotEqual(top.zeros, points[-1].zeros)
    self.assertIn(f"best score {top.score:.4f}: {top.method}", text)
    stored = load_h5(os.path.join(out, "best.h5"))
    self.assertEqual(count_zeros(stored.get_weights()), (top.zeros, top.parameters))
    self.assertEqual(accuracy(stored, load_task(data_dir).test), top.test_accuracy)


if __name__ == "__main__":
  tf.test.main()
