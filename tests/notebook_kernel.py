"""Running the notebooks in tests: a real Jupyter kernel (this interpreter's ipykernel), each
notebook top to bottom at its smoke-test size, in a temporary working directory."""

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
  (the executed notebook, seconds). A failing cell raises nbclient's CellExecutionError, a
  cell still running after CELL_TIMEOUT seconds its CellTimeoutError."""
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
    "09_distributed_training": {"SMALL": True},
    "10_federated_project": {"SMALL": True},
}
NEEDS_DATA = {"01_iid_and_group_noniid_fairness": "cifar10", "02_quantized_fl": "cifar10",
              "03_gradient_inversion_defenses": "cifar10", "04_fedsgd_vs_fedavg": "mnist",
              "05_pruning_competition": "cifar10", "07_diffusion": "fashion-mnist",
              "08_sparse_finetuning": "weights/resnet20-cifar10",
              "09_distributed_training": "cifar10",
              "10_federated_project": "shakespeare-leaf"}


class NotebookRunCase(tf.test.TestCase):
  """Runs notebooks in a temporary working directory (self.work_dir after a run); prints
  each one's wall time (pytest -s shows it)."""

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
    self.work_dir = self.create_tempdir().full_path
    notebook, seconds = execute(name, parameters, self.work_dir)
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
