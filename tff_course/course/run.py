"""Running a course experiment: every arm (resuming finished and killed ones), then the
report, into one run directory."""

from __future__ import annotations

import json
import os
import sys
from typing import Dict, Optional, Sequence, Tuple

from tff_course.atomic import write_text
from tff_course.course import markdown
from tff_course.course.arms import Arm
from tff_course.course.experiment import CourseExperiment
from tff_course.course.preparation import prepare_arms, resolved
from tff_course.course.questions import questions_section
from tff_course.course.results import DIVERGED_FILE, Results
from tff_course.course.settings import DEFAULT, DESCRIPTIONS, check_setting
from tff_course.errors import ConfigError
from tff_course.experiment.config import OVERRIDE_FORM
from tff_course.key_value import parse_key_value
from tff_course.versions import environment_versions

EXPERIMENT_FILE = "experiment.json"
REPORT_FILE = "report.md"
ANSWERS_FILE = "answers.json"


def plan_arms(experiment: CourseExperiment, *, setting: str = DEFAULT,
              overrides: Sequence[str] = (), rounds: Optional[int] = None) -> list:
  """The experiment's arms in `setting` with the command line's changes applied."""
  if rounds is not None and rounds < 1:
    raise ConfigError(f"--rounds: got {rounds}, expected a whole number >= 1")
  planned = experiment.arms(check_setting(setting))
  varied = varied_fields(planned)
  for override in overrides:
    field = parse_key_value(override, "--set", OVERRIDE_FORM)[0]
    if field in varied:
      raise ConfigError(f"--set {field}: the {experiment.name} experiment compares runs "
                        f"that differ in it; change the others' fields, or write a config "
                        f"and use 'tff-course train'")
  arms = [arm.with_changes(overrides, rounds) for arm in planned]
  keys = [arm.key for arm in arms]
  if len(set(keys)) != len(keys):
    raise ValueError(f"{experiment.name}: arm keys repeat: {keys}")
  return arms


def varied_fields(arms: Sequence[Arm]) -> set:
  """The "section.field" names whose values differ between the arms' configs."""
  flat = [{f"{section}.{name}": json.dumps(value, sort_keys=True)
           for section in ("data", "train")
           for name, value in arm.config.to_dict()[section].items()}
          for arm in arms if arm.config is not None]
  return {key for key in set().union(*flat) if len({f.get(key) for f in flat}) > 1}


def run_course_experiment(experiment: CourseExperiment, run_dir: str, *,
                          setting: str = DEFAULT, data_dir: Optional[str] = None,
                          overrides: Sequence[str] = (), rounds: Optional[int] = None,
                          progress: bool = True) -> str:
  """Runs the experiment's arms into run_dir/ARM and writes run_dir/report.md (with the
  answers to the assignment's questions, also in run_dir/answers.json).

  Re-running the same command resumes: finished runs of the federated runner are not
  trained again and a killed one continues from its last checkpoint; an arm run outside
  the runner is not run again once its metrics.csv is written for the same settings. Every
  run directory is checked before anything runs: one holding a different config is
  refused. Returns the report's path.
  """
  from tff_course.experiment.records import check_resumable

  arms = [resolved(arm, run_dir) for arm in
          plan_arms(experiment, setting=setting, overrides=overrides, rounds=rounds)]
  for arm in arms:
    if arm.config is not None:
      check_resumable(os.path.join(run_dir, arm.key), arm.config)
  check_arms(arms, data_dir)
  os.makedirs(run_dir, exist_ok=True)
  write_text(os.path.join(run_dir, EXPERIMENT_FILE), json.dumps({
      "experiment": experiment.name, "setting": setting, "overrides": list(overrides),
      "rounds": rounds, "arms": {arm.key: arm.description() for arm in arms},
      "versions": environment_versions()}, indent=2) + "\n")
  prepare_arms(arms, run_dir, data_dir, progress)
  for index, arm in enumerate(arms, 1):
    print(f"[{index}/{len(arms)}] {arm.label}", file=sys.stderr, flush=True)
    run_arm(arm, os.path.join(run_dir, arm.key), data_dir=data_dir, progress=progress)
  tests = test_sets(arms, data_dir)
  results = Results(run_dir=run_dir, arms=tuple(arms),
                    test_sizes={key: size for key, (_, size, _) in tests.items()},
                    data_dir=data_dir)
  answers = experiment.questions(results)
  write_text(os.path.join(run_dir, ANSWERS_FILE),
             json.dumps([answer.to_dict() for answer in answers], indent=2) + "\n")
  sections = [f"# {experiment.title}", experiment.description,
              f"Setting: {DESCRIPTIONS[setting]}"
              + (f"; overrides: {', '.join(overrides)}" if overrides else "")
              + (f"; rounds: {rounds}" if rounds else "") + ".",
              questions_section(answers, experiment.errors),
              "## Runs", markdown.settings_table(results), markdown.runs_table(results),
              markdown.test_noise({name: (size, notes) for name, size, notes in
                                   tests.values()})]
  sections += experiment.report(results)
  sections += ["## The assignment's settings", experiment.assignment]
  path = os.path.join(run_dir, REPORT_FILE)
  write_text(path, "\n\n".join(sections) + "\n")
  return path


def check_arms(arms: Sequence[Arm], data_dir: Optional[str]) -> None:
  """Builds every federated arm's federation (its data partitioned, its devices) and
  drops it, so that settings the data cannot meet fail before any arm runs; arms in a
  row with the same loader arguments share one load, and only one dataset is held.

  Raises:
    ConfigError: "run KEY: ..." for the first arm whose settings do not fit its data.
  """
  if all(arm.config is None for arm in arms):
    return
  from tff_course.experiment.federation import build_federation, load_config_dataset

  loaded = {}
  for arm in arms:
    if arm.config is None:
      continue
    key = _loader_arguments(arm)
    try:
      if key not in loaded:
        loaded = {key: load_config_dataset(arm.config, data_dir)}
      build_federation(arm.config, dataset=loaded[key]).close()
    except ConfigError as error:
      raise ConfigError(f"run {arm.key}: {error}") from None


def test_sets(arms: Sequence[Arm], data_dir: Optional[str]
              ) -> Dict[str, Tuple[str, int, Tuple]]:
  """Arm key -> (dataset name, test examples, the loader's notes), loaded as the arms
  load them, once per distinct set of loader arguments."""
  loaded, sizes = {}, {}
  for arm in arms:
    key = _loader_arguments(arm)
    if key not in loaded:
      dataset = _arm_dataset(arm, data_dir)
      loaded[key] = (dataset.name, len(dataset.test), tuple(dataset.notes))
    sizes[arm.key] = loaded[key]
  return sizes


def _arm_dataset(arm: Arm, data_dir: Optional[str]):
  """The arm's dataset as it loads it (TensorFlow is imported for federated arms only)."""
  if arm.config is None:
    from tff_course.data import load_dataset

    return load_dataset(arm.settings["dataset"], seed=arm.settings["seed"], data_dir=data_dir,
                        limit=arm.settings.get("limit"),
                        **arm.settings.get("dataset_options", {}))
  from tff_course.experiment.federation import load_config_dataset

  return load_config_dataset(arm.config, data_dir)


def _loader_arguments(arm: Arm) -> tuple:
  """What the arm's dataset loading depends on: arms that agree share one load."""
  if arm.config is None:
    return (arm.settings["dataset"], arm.settings["seed"], arm.settings.get("limit"),
            json.dumps(arm.settings.get("dataset_options", {}), sort_keys=True))
  data = arm.config.data
  return (data.dataset, data.data_dir, data.limit, json.dumps(dict(data.options),
                                                            sort_keys=True),
          arm.config.train.seed)


def finished_outside_run(arm: Arm, run_dir: str) -> Optional[Dict[str, float]]:
  """The last metrics of an outside-the-runner arm already run into `run_dir` with the
  same settings (its config.json), or None."""
  config, metrics = (os.path.join(run_dir, name) for name in ("config.json", "metrics.csv"))
  if not (os.path.isfile(config) and os.path.isfile(metrics)):
    return None
  with open(config, encoding="utf-8") as stream:
    if json.load(stream) != json.loads(json.dumps(dict(arm.settings))):
      return None
  from tff_course.experiment.metrics_file import read_metrics

  return {key: float(values[-1]) for key, values in read_metrics(run_dir).items()
          if key != "round"}


def run_arm(arm: Arm, run_dir: str, *, data_dir: Optional[str], progress: bool):
  """Runs (or resumes) one arm; returns its last metrics. An arm whose training diverges
  is a result, not a failure: its run directory gets DIVERGED_FILE (the reason) and the
  experiment goes on; re-running does not train it again."""
  if arm.run_outside is not None:
    finished = finished_outside_run(arm, run_dir)
    return (finished if finished is not None else
            arm.run_outside(arm.settings, run_dir, data_dir))
  from tff_course.experiment.runner import TrainingDiverged, run_experiment

  diverged = os.path.join(run_dir, DIVERGED_FILE)
  if os.path.isfile(diverged):
    print(f"[diverged before] {arm.key}: see {diverged}", file=sys.stderr, flush=True)
    return {}
  try:
    return run_experiment(arm.config, run_dir, data_dir=data_dir, progress=progress)
  except TrainingDiverged as error:
    write_text(diverged, f"{error}\n")
    print(f"[diverged] {arm.key}: {error}", file=sys.stderr, flush=True)
    return {}
