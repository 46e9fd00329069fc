"""The notebooks: each runs top to bottom in a real Jupyter kernel (this interpreter's
ipykernel) at its smoke-test size, in a temporary working directory."""

import glob
import json
import os
import sys
import time
import unittest

import nbformat
import tensorflow as tf
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

from tests.shared_data import shared_data_dir
from tff_course.errors import ConfigError
from tff_course.notebook import report_blocks, show_report

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOTEBOOKS = os.path.join(REPO, "notebooks")
KERNEL = "tff-course-tests"
CELL_TIMEOUT = 300
WIDGET = "application/vnd.jupyter.widget-view+json"
TQDM_WARNINGS = ("IProgress not found", "TqdmWarning", "TqdmExperimentalWarning")
TENSORFLOW_LOG_LINES = ("INFO:tensorflow", "cuDNN", "cuda_")


def kernel_manager(directory: str) -> KernelManager:
  """A manager of an ipykernel running this interpreter, from a kernelspec written under
  `directory` (nothing installed for the user or the system)."""
  spec_dir = os.path.join(directory, "kernels", KERNEL)
  os.makedirs(spec_dir)
  with open(os.path.join(spec_dir, "kernel.json"), "w") as stream:
    json.dump({"argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
               "display_name": "tff-course tests", "language": "python"}, stream)
  specs = KernelSpecManager(kernel_dirs=[os.path.join(directory, "kernels")],
                            ensure_native_kernel=False)
  return KernelManager(kernel_name=KERNEL, kernel_spec_manager=specs)


def with_parameters(notebook, parameters):
  """Inserts a cell assigning `parameters` after the cell tagged "parameters"."""
  index = next(i for i, cell in enumerate(notebook.cells)
               if "parameters" in cell.metadata.get("tags", []))
  cell = nbformat.v4.new_code_cell("\n".join(f"{k} = {v!r}" for k, v in parameters.items()))
  cell.metadata["tags"] = ["injected-parameters"]
  notebook.cells.insert(index + 1, cell)
  return notebook


def execute(name: str, parameters, work_dir: str):
  """Runs notebooks/NAME.ipynb with `parameters` in `work_dir`, in a kernel whose
  environment leaves TensorFlow's log level to the toolkit, as a user's does; returns
  (the executed notebook, seconds). A failing cell raises nbclient's CellExecutionError, a cell still
  running after CELL_TIMEOUT seconds its CellTimeoutError."""
  notebook = with_parameters(nbformat.read(os.path.join(NOTEBOOKS, f"{name}.ipynb"),
                                           as_version=4), parameters)
  manager = kernel_manager(os.path.join(work_dir, ".jupyter"))
  client = NotebookClient(notebook, km=manager, timeout=CELL_TIMEOUT,
                          resources={"metadata": {"path": work_dir}})
  path = os.pathsep.join(filter(None, [REPO, os.environ.get("PYTHONPATH")]))
  env = {name: value for name, value in os.environ.items() if name != "TF_CPP_MIN_LOG_LEVEL"}
  start = time.perf_counter()
  try:
    client.execute(env={**env, "PYTHONPATH": path})
  finally:
    if manager.has_kernel:
      manager.shutdown_kernel(now=True)
  return notebook, time.perf_counter() - start


def outputs(notebook):
  return [output for cell in notebook.cells if cell.cell_type == "code"
          for output in cell.outputs]


def stream(notebook, name: str) -> str:
  return "".join(o.text for o in outputs(notebook)
                 if o.output_type == "stream" and o.name == name)


def rich(notebook, mime: str):
  """Every display_data / execute_result payload of type `mime`."""
  return [o.data[mime] for o in outputs(notebook)
          if o.output_type in ("display_data", "execute_result") and mime in o.data]


def notebook_names():
  return sorted(os.path.splitext(os.path.basename(p))[0]
                for p in glob.glob(os.path.join(NOTEBOOKS, "*.ipynb")))


SMOKE = {
    "01_iid_and_group_noniid_fairness": {"SMALL": True},
    "02_quantized_fl": {"SMALL": True},
    "03_gradient_inversion_defenses": {"SMALL": True},
    "04_fedsgd_vs_fedavg": {"SMALL": True},
    "05_pruning_competition": {"SMALL": True},
    "06_numpy_fedavg": {"SMALL": True},
    "07_diffusion": {"SMALL": True},
    "08_sparse_finetuning": {"SMALL": True},
}
NEEDS_DATA = {"01_iid_and_group_noniid_fairness": "cifar10", "02_quantized_fl": "cifar10",
              "03_gradient_inversion_defenses": "cifar10", "04_fedsgd_vs_fedavg": "mnist",
              "05_pruning_competition": "cifar10", "07_diffusion": "fashion-mnist",
              "08_sparse_finetuning": "weights/resnet20-cifar10"}


class NotebookFilesTest(tf.test.TestCase):

  def test_every_notebook_is_tested_and_clean(self):
    self.assertEqual(notebook_names(), sorted(SMOKE))
    for name in notebook_names():
      notebook = nbformat.read(os.path.join(NOTEBOOKS, f"{name}.ipynb"), as_version=4)
      nbformat.validate(notebook)
      code = [cell for cell in notebook.cells if cell.cell_type == "code"]
      self.assertIn('if "google.colab" in sys.modules:', code[0].source, name)
      tagged = [c for c in code if "parameters" in c.metadata.get("tags", [])]
      self.assertLen(tagged, 1, name)
      self.assertIn("SMALL = False", tagged[0].source, name)
      for cell in code:
        self.assertEqual((cell.outputs, cell.execution_count), ([], None), name)
      self.assertEqual(notebook.cells[0].cell_type, "markdown", name)

  def test_parameters_go_after_the_parameters_cell(self):
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("import sys"), nbformat.v4.new_code_cell("SMALL = False"),
        nbformat.v4.new_code_cell("print(SMALL)")])
    notebook.cells[1].metadata["tags"] = ["parameters"]
    with_parameters(notebook, {"SMALL": True, "RUN_DIR": "x"})
    self.assertEqual(notebook.cells[2].source, "SMALL = True\nRUN_DIR = 'x'")
    self.assertEqual(notebook.cells[3].source, "print(SMALL)")


class ReportBlocksTest(tf.test.TestCase):

  def test_image_lines_become_paths_in_order(self):
    text = "# T\n\nintro\n\n![curves](curves.png)\n\n| a |\n|---|\n\n![x](sub/y.png)\n"
    self.assertEqual(report_blocks(text, "/run"), [
        ("markdown", "# T\n\nintro"), ("image", "/run/curves.png"),
        ("markdown", "| a |\n|---|"), ("image", "/run/sub/y.png")])
    self.assertEqual(report_blocks("see ![inline](a.png) here", "/run"),
                     [("markdown", "see ![inline](a.png) here")])

  def test_a_missing_report_is_one_line(self):
    with self.assertRaisesRegex(ConfigError, "report: got '/nowhere/report.md', expected a "
                                             "report.md file"):
      show_report("/nowhere/report.md")


class NotebookRunTest(tf.test.TestCase):
  """Runs each notebook; prints its wall time (pytest -s shows it)."""

  def run_notebook(self, name):
    parameters = dict(SMOKE[name], RUN_DIR="runs")
    if name in NEEDS_DATA:
      data_dir = shared_data_dir()
      if data_dir is None:
        raise unittest.SkipTest("no dataset files: set TFF_COURSE_DATA_DIR or put them in "
                                "../shared/data")
      if not os.path.exists(os.path.join(data_dir, NEEDS_DATA[name])):
        raise unittest.SkipTest(f"{os.path.join(data_dir, NEEDS_DATA[name])} is not there")
      parameters["DATA_DIR"] = data_dir
    notebook, seconds = execute(name, parameters, self.create_tempdir().full_path)
    print(f"\n{name}: {seconds:.0f} s in the kernel", file=sys.stderr)
    errors = stream(notebook, "stderr")
    for warning in TQDM_WARNINGS:
      self.assertNotIn(warning, errors)
    for log_line in TENSORFLOW_LOG_LINES:
      self.assertNotIn(log_line, errors + stream(notebook, "stdout"))
    return notebook

  def assertImages(self, notebook, at_least):
    self.assertGreaterEqual(len(rich(notebook, "image/png")), at_least)

  def markdown(self, notebook) -> str:
    return "\n".join(rich(notebook, "text/markdown"))

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

  def test_07_diffusion(self):
    notebook = self.run_notebook("07_diffusion")
    text = self.markdown(notebook)
    for section in ("## Samples of 'a photo of a {class}'", "## DreamBooth",
                    "## Prompt-to-prompt", "## The assignment's questions"):
      self.assertIn(section, text)
    self.assertEqual(text.count("- Verdict: **"), 4)
    self.assertImages(notebook, 8)
    self.assertNotEmpty(rich(notebook, WIDGET), "no tqdm notebook progress bar")

  def test_08_sparse_finetuning(self):
    notebook = self.run_notebook("08_sparse_finetuning")
    printed = stream(notebook, "stdout")
    self.assertRegex(printed, r"head on frozen features: \d+\.\d\d % of 2,000 test images")
    self.assertRegex(printed, r"least_sensitive: \d+\.\d\d % of all trainable entries open")
    self.assertIn("entries changed outside the masks: 0\n", printed)
    text = self.markdown(notebook)
    self.assertIn("## Schedules at a glance", text)
    self.assertIn("| cosine annealing | 2 |", text)
    self.assertImages(notebook, 3)
    self.assertNotEmpty(rich(notebook, WIDGET), "no tqdm notebook progress bar")
