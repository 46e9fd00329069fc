"""Notebooks 05, 06, 08, 09 and 10 run top to bottom in a Jupyter kernel at their smoke-test
size (the notebooks are split over two files so that the test processes share them)."""

import os

import tensorflow as tf

from tests.notebook_kernel import WIDGET, NotebookRunCase, rich, stream
from tests.report_checks import assert_every_question_answered


class NotebookRunTest(NotebookRunCase):

  def test_05_pruning(self):
    notebook = self.run_notebook("05_pruning_competition")
    out = stream(notebook, "stdout")
    self.assertIn("global_magnitude     target 0.9", out)
    self.assertRegex(out, r"sparsity 0\.\d{4} \([\d,]+ of 592,958 parameters are zero\)")
    self.assertIn("| global_magnitude |", self.markdown(notebook))
    self.assertImages(notebook, 2)

  def test_06_numpy_fedavg(self):
    notebook = self.run_notebook("06_numpy_fedavg")
    self.assertIn("round   3: test accuracy", stream(notebook, "stdout"))
    self.assertIn("Synthetic(1, 1): FedAvg J=20", self.markdown(notebook))
    self.assertImages(notebook, 2)

  def test_10_federated_project(self):
    notebook = self.run_notebook("10_federated_project")
    printed = stream(notebook, "stdout")
    self.assertIn("32 users, 183,580 training windows, 17,886 test windows", printed)
    self.assertRegex(printed, r"personal models: +mean \d+\.\d\d %, 10th percentile")
    text = self.markdown(notebook)
    assert_every_question_answered(self, text)
    self.assertIn("FedAvg, then each client fine-tuned locally", text)
    self.assertImages(notebook, 2)

  def test_08_sparse_finetuning(self):
    notebook = self.run_notebook("08_sparse_finetuning")
    printed = stream(notebook, "stdout")
    self.assertRegex(printed, r"head on frozen features: \d+\.\d\d % of 2,000 test images")
    self.assertRegex(printed, r"least_sensitive: \d+\.\d\d % of all trainable entries open")
    self.assertIn("entries changed outside the masks: 0\n", printed)
    text = self.markdown(notebook)
    self.assertIn("## Schedules at a glance", text)
    self.assertIn("| cosine annealing | 2 |", text)
    run_dir = os.path.join(self.work_dir, "runs", "finetune-schedules")
    self.assertEqual(sorted(os.listdir(os.path.join(run_dir, "prepared"))),
                     ["dense-s0", "dense-s1", "heads"])
    self.assertTrue(os.path.isfile(os.path.join(run_dir, "curves.png")))
    with open(os.path.join(run_dir, "report.md"), encoding="utf-8") as report:
      assert_every_question_answered(self, report.read())
    self.assertImages(notebook, 3)
    self.assertNotEmpty(rich(notebook, WIDGET), "no tqdm notebook progress bar")


  def test_09_distributed_training(self):
    notebook = self.run_notebook("09_distributed_training")
    printed = stream(notebook, "stdout")
    self.assertRegex(printed, r"H = 1: 8 averages, compute \d+\.\d s, communication "
                              r"\d+\.\d s \(\d+%\), \d+\.\d MB all-reduced by each worker")
    self.assertIn("H = 4: 2 averages", printed)
    self.assertRegex(printed, r"largest weight difference to one-process SGD: \d\.\d\de-\d\d")
    self.assertRegex(printed, r"20 updates in \d+\.\d s: staleness mean \d\.\d\d, max \d+; "
                              r"test accuracy \d+\.\d\d%")
    self.assertIn("no course experiment at this size (SMALL)", printed)
    self.assertImages(notebook, 4)
    self.assertNotEmpty(rich(notebook, WIDGET), "no tqdm notebook progress bar")


if __name__ == "__main__":
  tf.test.main()
