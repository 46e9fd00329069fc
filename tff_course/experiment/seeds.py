"""Several seeds of one experiment, and their mean and standard deviation."""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Dict, Optional, Sequence

import numpy as np

from tff_course.atomic import write_text
from tff_course.experiment.config import ExperimentConfig
from tff_course.experiment.runner import run_experiment

SUMMARY_FILE = "seeds.json"


def run_seeds(config: ExperimentConfig, run_dir: str, seeds: Sequence[int], *,
              data_dir: Optional[str] = None, progress: bool = True) -> Dict[str, Dict]:
  """Runs the config once per seed into run_dir/seed-N; writes and returns a summary.

  With one seed the run goes straight into `run_dir`. The summary gives, for each
  final metric, the mean and the standard deviation over seeds (ddof 0).
  """
  if len(seeds) == 1:
    single = dataclasses.replace(config, train=dataclasses.replace(config.train,
                                                                    seed=seeds[0]))
    return {"runs": {str(seeds[0]): run_experiment(single, run_dir, data_dir=data_dir,
                                                   progress=progress)}}
  finals = {}
  for seed in seeds:
    seeded = dataclasses.replace(config, train=dataclasses.replace(config.train, seed=seed))
    finals[str(seed)] = run_experiment(seeded, os.path.join(run_dir, f"seed-{seed}"),
                                       data_dir=data_dir, progress=progress)
  summary = {"runs": finals, "mean": {}, "std": {}}
  for name in sorted(set.intersection(*(set(f) for f in finals.values()))):
    values = np.array([finals[s][name] for s in finals], dtype=np.float64)
    summary["mean"][name], summary["std"][name] = float(values.mean()), float(values.std())
  write_text(os.path.join(run_dir, SUMMARY_FILE), json.dumps(summary, indent=2) + "\n")
  return summary
