"""Notebooks 01 to 04 and 07 run top to bottom in a Jupyter kernel at their smoke-test size
(the notebooks are split over two files so that the test processes share them)."""

import tensorflow as tf

from tests.notebook_kernel import WIDGET, NotebookRunCase, rich, stream


class NotebookRunTest(NotebookRunCase):

  def test_01_iid_and_group_fairness(self):
    notebook = self.run_notebook("01_iid_and_group_noniid_fairness")
    text = self.markdown(notebook)
    self.assertIn("| unfair (10/2/1), group-aware mean |", text)
    self.assertIn("## Final accuracy per group", text)
    self.assertIn("After 1 rounds FedAvg reaches", text)
    self.assertImages(notebook, 6)
    self.assertNotEmpty(rich(notebook, WIDGET), "no tqdm notebook progress bar")

  def test_02_quantized(self):
    notebook = self.run_notebook("02_quantized_fl")
    self.assertIn("| 4 bits |", self.markdown(notebook))
    self.assertImages(notebook, 2)
    self.assertNotEmpty(rich(notebook, WIDGET), "no tqdm notebook progress bar")

  def test_03_inversion(self):
    notebook = self.run_notebook("03_gradient_inversion_defenses")
    text = self.markdown(notebook)
    for section in ("## baseline (defense none", "## noise (defense gaussian, strength 0.01)",
                    "## pruning (defense prune, strength 0.3)",
                    "## quantization (defense quantize, strength 4)"):
      self.assertIn(section, text)
    self.assertIn("quantization: image 0, seed 0: MSE", stream(notebook, "stdout"))
    self.assertImages(notebook, 8)

  def test_04_fedsgd_vs_fedavg(self):
    notebook = self.run_notebook("04_fedsgd_vs_fedavg")
    text = self.markdown(notebook)
    self.assertIn("test accuracy, gradient form", text)
    self.assertIn("## Smoothness: non-IID, lr 0.001, C = 0.5", text)
    self.assertIn("| non-IID | FedSGD N=100 C=0.5, non-IID, lr 0.001 | 50 |", text)
    self.assertIn("rounds where test loss rose", text)
    self.assertImages(notebook, 2)

  def test_07_diffusion(self):
    notebook = self.run_notebook("07_diffusion")
    text = self.markdown(notebook)
    for section in ("## Samples of 'a photo of a {class}'", "## DreamBooth",
                    "## Prompt-to-prompt", "## The assignment's questions"):
      self.assertIn(section, text)
    self.assertEqual(text.count("- Verdict: **"), 4)
    self.assertImages(notebook, 8)
    self.assertNotEmpty(rich(notebook, WIDGET), "no tqdm notebook progress bar")


if __name__ == "__main__":
  tf.test.main()
