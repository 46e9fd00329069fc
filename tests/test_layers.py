"""The import layers: no cycles between packages, light modules stay free of TensorFlow,
quick command lines, a quiet library import, TFF's public API, install_requires."""

import ast
import importlib.metadata
import json
import os
import subprocess
import sys
import unittest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PRIVATE_TFF_ALLOWED = {
    "tff_course.runtime.ordered_merge": "replaces the subround pool of TFF 0.87's "
                                        "mergeable context, which takes results in the "
                                        "order workers finish (a TFF bug)"}
PACKAGES = ("tff_course", "pruning", "tasks")
HEAVY = ("tensorflow", "tensorflow_federated", "matplotlib")
TIMEOUT = 300

# Runs `python -m MODULE ARGS...` and writes the heavy modules it imported to OUT.
RUN_AND_REPORT = """
import json, runpy, sys
out, module = sys.argv[1], sys.argv[2]
sys.argv = [module] + sys.argv[3:]
try:
  runpy.run_module(module, run_name="__main__", alter_sys=True)
except SystemExit:
  pass
with open(out, "w") as stream:
  json.dump(sorted(m for m in sys.modules if m in %r), stream)
""" % (HEAVY,)


def source_modules():
  """Module name -> parsed source, for every module of the toolkit's packages."""
  modules = {}
  for package in PACKAGES:
    for folder, _, files in os.walk(os.path.join(REPO, package)):
      for name in files:
        if name.endswith(".py"):
          path = os.path.join(folder, name)
          dotted = os.path.relpath(path, REPO)[:-3].replace(os.sep, ".")
          with open(path, encoding="utf-8") as stream:
            modules[dotted.removesuffix(".__init__")] = ast.parse(stream.read(), path)
  return modules


def imported_names(tree):
  """Every absolute import in `tree` (at any depth: lazy imports count), as dotted names;
  `from a import b` gives a.b."""
  for node in ast.walk(tree):
    if isinstance(node, ast.Import):
      yield from (alias.name for alias in node.names)
    elif isinstance(node, ast.ImportFrom) and node.level == 0:
      yield node.module
      yield from (f"{node.module}.{alias.name}" for alias in node.names)


def unit(module: str) -> str:
  """The package a module belongs to for layering: its first two name parts."""
  return ".".join(module.split(".")[:2])


def package_graph(modules):
  """unit -> {imported unit: [(importing module, imported module)]}."""
  graph = {}
  for module, tree in modules.items():
    for name in imported_names(tree):
      while name not in modules and "." in name:
        name = name.rsplit(".", 1)[0]
      if name in modules and unit(name) != unit(module):
        graph.setdefault(unit(module), {}).setdefault(unit(name), []).append((module, name))
  return graph


def cycles(graph):
  """The strongly connected components of more than one unit (Tarjan)."""
  index, low, stack, found = {}, {}, [], []

  def visit(node):
    index[node] = low[node] = len(index)
    stack.append(node)
    for successor in graph.get(node, {}):
      if successor not in index:
        visit(successor)
        low[node] = min(low[node], low[successor])
      elif successor in stack:
        low[node] = min(low[node], index[successor])
    if low[node] == index[node]:
      component = []
      while not component or component[-1] != node:
        component.append(stack.pop())
      if len(component) > 1:
        found.append(sorted(component))

  for node in list(graph):
    if node not in index:
      visit(node)
  return found


def heavy_imports(module, *args):
  """The heavy modules `python -m module args...` imports, run in a fresh interpreter."""
  out = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"layers-{os.getpid()}.json")
  subprocess.run([sys.executable, "-c", RUN_AND_REPORT, out, module, *args], cwd=REPO,
                 capture_output=True, text=True, timeout=TIMEOUT, check=False,
                 env={**os.environ, "PYTHONPATH": REPO})
  with open(out, encoding="utf-8") as stream:
    loaded = json.load(stream)
  os.remove(out)
  return loaded


def run_python(code, env):
  return subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                        text=True, timeout=TIMEOUT, check=False, env=env)


class ImportGraphTest(unittest.TestCase):

  @classmethod
  def setUpClass(cls):
    cls.modules = source_modules()
    cls.graph = package_graph(cls.modules)

  def test_no_cycles_between_packages(self):
    report = []
    for component in cycles(self.graph):
      report += [f"{a} -> {b}: {self.graph[a][b][0]}" for a in component for b in component
                 if b in self.graph.get(a, {})]
    self.assertEqual(report, [])

  def test_the_runner_does_not_depend_on_plots(self):
    self.assertEqual(self.graph.get("tff_course.experiment", {}).get("tff_course.plots", []), [])

  def test_tff_only_through_its_public_api(self):
    private = [module for module, tree in self.modules.items()
               if any(name.startswith("tensorflow_federated.python")
                      for name in imported_names(tree))]
    self.assertEqual(private, list(PRIVATE_TFF_ALLOWED))

  def test_install_requires_lists_every_imported_distribution(self):
    with open(os.path.join(REPO, "setup.py"), encoding="utf-8") as stream:
      assigned = {node.targets[0].id: ast.literal_eval(node.value)
                  for node in ast.parse(stream.read()).body if isinstance(node, ast.Assign)
                  and isinstance(node.value, ast.List)}
    declared = {_project(r) for r in assigned["REQUIRES"] + assigned["INSTALLED_SEPARATELY"]}
    distributions = importlib.metadata.packages_distributions()
    imported = {_project(distributions.get(top, [top])[0])
                for tree in self.modules.values() for name in imported_names(tree)
                for top in [name.split(".")[0]]
                if top not in sys.stdlib_module_names and top not in PACKAGES + ("__future__",)}
    self.assertEqual(declared, imported)


def _project(requirement: str) -> str:
  name = requirement.split(";")[0]
  for mark in "<>=!~[ ":
    name = name.split(mark)[0]
  return name.lower().replace("_", "-")


class LightModulesTest(unittest.TestCase):

  def test_command_lines_answer_without_tensorflow(self):
    for command in (("tff_course", "--help"), ("tff_course", "--version"),
                    ("tff_course", "no-such-command"), ("tff_course", "train", "--help"),
                    ("tff_course", "invert", "--help"), ("pruning", "--help"),
                    ("pruning", "prune", "--help")):
      self.assertEqual(heavy_imports(*command), [], command)

  def test_scratch_imports_no_tensorflow(self):
    result = run_python("import sys, tff_course.scratch; print(sorted(m for m in sys.modules "
                        "if m.split('.')[0] in ('tensorflow', 'tensorflow_federated')))",
                        {**os.environ, "PYTHONPATH": REPO})
    self.assertEqual(result.stdout.strip(), "[]", result.stderr)

  def test_importing_the_library_prints_nothing(self):
    env = {k: v for k, v in os.environ.items() if not k.startswith("TF_")}
    result = run_python("import tff_course.algorithms as a, tff_course.aggregators, "
                        "tff_course.experiment.runner, tasks.inversion.attacks, "
                        "pruning.training; a.build_fedavg", {**env, "PYTHONPATH": REPO})
    self.assertEqual(result.returncode, 0, result.stderr)
    self.assertEqual(result.stderr, "")

  def test_asked_for_tensorflow_log_lines_stay(self):
    env = {**os.environ, "PYTHONPATH": REPO, "TF_CPP_MIN_LOG_LEVEL": "0"}
    result = run_python("import os, tff_course; print(os.environ['TF_CPP_MIN_LOG_LEVEL'])", env)
    self.assertEqual(result.stdout.strip(), "0", result.stderr)


if __name__ == "__main__":
  unittest.main()
