"""The notebooks as files: each is tested (tests/test_notebook_runs_*.py run them), clean
and parameterised; the report helper they share."""

import os

import nbformat
import tensorflow as tf

from tests.notebook_kernel import NOTEBOOKS, SMOKE, notebook_names, with_parameters
from tff_course.errors import ConfigError
from tff_course.notebook import report_blocks, show_report


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
