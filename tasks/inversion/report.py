"""The course's four experiments (no defense, noise, pruning, quantization) on the same
images and seeds, each run's outputs in its own directory, and report.md with the
measured metrics, figures and the answers to the assignment's questions (also in
answers.json).

A run whose directory already holds all its outputs for the same config is not attacked
again, so a killed course run re-run with the same command continues; a directory
holding a different config is refused before anything runs."""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
import sys
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from tasks.inversion.attack_config import AttackConfig
from tasks.inversion.course_questions import STANDARD_ERRORS, course_answers
from tff_course.atomic import write_text
from tff_course.course.questions import questions_section
from tff_course.course.settings import ASSIGNMENT, DEFAULT, DESCRIPTIONS, FULL, check_setting
from tff_course.errors import ConfigError
from tff_course.versions import machine_description

COURSE_EXPERIMENTS = (("baseline", "none", 0.0), ("noise", "gaussian", 1e-2),
                      ("pruning", "prune", 0.3), ("quantization", "quantize", 4))
NAME = "inversion"
TITLE = "Gradient inversion: DLG against no defense, noise, pruning and quantization"
REPORT_FILE, ANSWERS_FILE = "report.md", "answers.json"

# setting -> (CIFAR-10 training images, seeds)
SIZES = {DEFAULT: ((0, 1, 2), (0,)), FULL: (tuple(range(10)), (0, 1)),
         ASSIGNMENT: ((0, 1, 2), (0,))}
ASSIGNMENT_NOTE = (
    "The assignment states DLG (Zhu et al., 2019) on its sigmoid LeNet (`dlg_lenet`) with "
    "L-BFGS for 300 iterations, and the defenses Gaussian noise of sigma 1e-2, pruning 30 % "
    "of the gradient and 4-bit quantization: every setting runs these. It states no "
    "images, seeds or restarts, so `--assignment` runs the default's (images 0, 1, 2, seed "
    "0, a failed attempt restarted up to twice) and equals the default; `--full` attacks "
    "images 0-9 with seeds 0 and 1.")

Progress = Callable[[str, int, int, Dict], None]


def run_course(out_dir: str, *, attack: AttackConfig = AttackConfig(), model: str = "dlg_lenet",
               image_indices: Optional[Sequence[int]] = None,
               seeds: Optional[Sequence[int]] = None, data_dir: Optional[str] = None,
               experiments=COURSE_EXPERIMENTS, progress: Optional[Progress] = None,
               setting: str = DEFAULT) -> str:
  """Runs every experiment on every (image, seed), resuming: a run whose directory holds
  its outputs for the same config is read, not attacked again. Writes report.md and
  answers.json; returns the report's path.

  Args:
    image_indices, seeds: None: the setting's (SIZES).
    progress: called with (experiment, image, seed, metrics) after each run.

  Raises:
    ConfigError: a run's directory holds a different config (checked before any run).
  """
  overridden = (image_indices, seeds) != (None, None)
  default_images, default_seeds = SIZES[check_setting(setting)]
  images = tuple(default_images if image_indices is None else image_indices)
  seeds = tuple(default_seeds if seeds is None else seeds)
  plan = course_plan(out_dir, attack, model, images, seeds, experiments)
  finished = {run_dir: finished_run(run_dir, config) for _, run_dir, config in plan}
  runs: Dict[str, List[Tuple[str, Dict]]] = {name: [] for name, _, _ in experiments}
  for name, run_dir, config in plan:
    metrics = (read_metrics(run_dir) if finished[run_dir]
               else _attack(run_dir, config, data_dir))
    runs[name].append((os.path.relpath(run_dir, out_dir), metrics))
    if progress is not None:
      progress(name, config.image_indices[0], config.seed, metrics)
  answers = course_answers({name: [m for _, m in rows] for name, rows in runs.items()})
  write_text(os.path.join(out_dir, ANSWERS_FILE),
             json.dumps([answer.to_dict() for answer in answers], indent=2) + "\n")
  sections = [_header(attack, model, images, seeds, setting, overridden),
              questions_section(answers, STANDARD_ERRORS)]
  sections += [_section(name, kind, strength, runs[name])
               for name, kind, strength in experiments]
  sections += ["## The assignment's settings", ASSIGNMENT_NOTE]
  path = os.path.join(out_dir, REPORT_FILE)
  write_text(path, "\n\n".join(sections) + "\n")
  return path


def course_plan(out_dir: str, attack: AttackConfig, model: str, images: Sequence[int],
                seeds: Sequence[int], experiments) -> list:
  """(experiment, run directory, InversionConfig) of every run, experiment by experiment,
  seed by seed, image by image."""
  from tasks.inversion.experiment import InversionConfig

  return [(name, os.path.join(out_dir, name, f"image-{index}-seed-{seed}"),
           InversionConfig(attack=dataclasses.replace(attack, seed=seed), model=model,
                           image_indices=(index,), defense=kind, strength=strength,
                           seed=seed))
          for name, kind, strength in experiments for seed in seeds for index in images]


def finished_run(run_dir: str, config) -> bool:
  """True when run_dir holds every output of a run of `config`; False when it holds none
  or part of them.

  Raises:
    ConfigError: run_dir holds a run of a different config.
  """
  from tasks.inversion.experiment import OUTPUT_FILES

  path = os.path.join(run_dir, "config.json")
  if not os.path.isfile(path):
    return False
  with open(path, encoding="utf-8") as stream:
    saved = json.load(stream)
  differences = config_differences(saved, json.loads(json.dumps(config.to_dict())))
  if differences:
    raise ConfigError(f"{run_dir} holds a run of a different config "
                      f"({'; '.join(differences)}); refusing to reuse it: choose another "
                      f"output directory, or delete that one")
  return all(os.path.isfile(os.path.join(run_dir, name)) for name in OUTPUT_FILES)


def config_differences(saved: Dict, wanted: Dict, prefix: str = "") -> List[str]:
  """"field: saved -> wanted" for every (nested) field whose values differ."""
  differences = []
  for key in sorted(set(saved) | set(wanted)):
    old, new = saved.get(key), wanted.get(key)
    if isinstance(old, dict) and isinstance(new, dict):
      differences += config_differences(old, new, f"{prefix}{key}.")
    elif old != new:
      differences.append(f"{prefix}{key}: {old!r} -> {new!r}")
  return differences


def read_metrics(run_dir: str) -> Dict:
  with open(os.path.join(run_dir, "metrics.json"), encoding="utf-8") as stream:
    return json.load(stream)


def _attack(run_dir: str, config, data_dir: Optional[str]) -> Dict:
  from tasks.inversion.experiment import run_inversion, write_outputs

  result, metrics, originals = run_inversion(config, data_dir)
  write_outputs(run_dir, config, result, metrics, originals)
  return metrics


def print_progress(name: str, index: int, seed: int, metrics: Dict) -> None:
  """One line on stderr per finished run."""
  print(f"{name}: image {index}, seed {seed}: MSE {metrics['mean']['mse']:.3g} "
        f"({metrics['status']}, {metrics['seconds']:.0f} s)", file=sys.stderr, flush=True)


def run_inversion_course(directory: str, *, setting: str = DEFAULT,
                         data_dir: Optional[str] = None, rounds: Optional[int] = None,
                         progress: bool = True) -> str:
  """The course's inversion experiments in `setting` (SIZES), resumably, as
  `tff-course experiment all` runs them; returns the report's path.

  Args:
    rounds: None, or the attack's steps in place of 300: `experiment all --rounds 2`
      then runs 2-step attacks, a smoke test like the federated experiments' 2 rounds.
    progress: a line on stderr per run.
  """
  attack = AttackConfig() if rounds is None else AttackConfig(iterations=rounds)
  return run_course(directory, attack=attack, data_dir=data_dir, setting=setting,
                    progress=print_progress if progress else None)


def course_entry():
  """The every_experiment Entry that runs the inversion experiments."""
  from tff_course.course.every_experiment import Entry

  return Entry(NAME, TITLE, run_inversion_course)


def _header(attack: AttackConfig, model: str, image_indices, seeds, setting: str,
            overridden: bool) -> str:
  return (f"# Gradient inversion: the course experiments\n\n"
          f"{datetime.datetime.now():%Y-%m-%d %H:%M}, {machine_description()}. Setting: "
          f"{DESCRIPTIONS[setting]}{'; images and seeds as given' if overridden else ''}."
          f"\n\nAttack {attack.attack} ({attack.iterations} steps{_restarts(attack)}) on "
          f"{model} at its seeded initialisation; CIFAR-10 training images "
          f"{', '.join(map(str, image_indices))}; "
          f"seeds {', '.join(map(str, seeds))}. An image counts as recovered when its MSE is "
          f"below 1e-3. Every number below was measured by this run (or by the earlier "
          f"invocation it resumed); each run's directory holds its config.json, "
          f"versions.json and metrics.json.")


def _restarts(attack: AttackConfig) -> str:
  if attack.attack == "ig" or not attack.restarts:
    return ""
  return f", a failed attempt restarted up to {attack.restarts} times"


def _section(name: str, kind: str, strength, runs: List) -> str:
  lines = [f"## {name} (defense {kind}, strength {strength:g})", "",
           "| run | MSE | PSNR dB | SSIM | label recovered | status | steps | attempts | s |",
           "|---|---|---|---|---|---|---|---|---|"]
  for run_dir, metrics in runs:
    mean = metrics["mean"]
    lines.append(f"| {run_dir} | {mean['mse']:.3g} | {mean['psnr']:.1f} | {mean['ssim']:.3f} "
                 f"| {mean['label_recovered']:.0%} | {metrics['status']} | "
                 f"{metrics['steps']} | {len(metrics['attempts'])} | "
                 f"{metrics['seconds']:.1f} |")
  lines += ["", f"Images recovered: {_rate(runs, 'image_recovered')}; labels recovered: "
                f"{_rate(runs, 'label_recovered')}; median MSE "
                f"{np.median([m['mean']['mse'] for _, m in runs]):.3g}.", ""]
  first = runs[0][0]
  lines += [f"![{name}: the optimisation]({first}/progress.png)", "",
            f"![{name}: original and recovered]({first}/comparison.png)"]
  return "\n".join(lines)


def _rate(runs: List, key: str) -> str:
  values = [m["mean"][key] for _, m in runs]
  return f"{sum(values):g} of {len(values)}"
