"""The course's DreamBooth experiment: the pretrained small model fine-tuned on views of
one subject with prior preservation (lambda = 1) and without (lambda = 0), measured
before and after on "a photo of sks {class}" and "a photo of a {class}": each sample's
feature distance to the subject, the class prompt's diversity and class accuracy."""

from __future__ import annotations

import os
from typing import Dict

import numpy as np

from tasks.diffusion.captions import CAPTION_TEMPLATE
from tasks.diffusion.dreambooth import fine_tune, sample_grid
from tasks.diffusion.grids import save_labeled_grid
from tasks.diffusion.image_metrics import class_accuracy, diversity, sample_distances
from tasks.diffusion.instance_images import save_instance_images

BEFORE = "before fine-tuning"
WITH_PRIOR = "prior preservation (lambda 1)"
WITHOUT_PRIOR = "no prior preservation (lambda 0)"


def dreambooth_measures(judge, with_identifier: np.ndarray, without: np.ndarray,
                        instance: np.ndarray, label: int) -> Dict[str, object]:
  """Samples of the identifier prompt and of the class prompt (column j of both from the
  same noise) against the instance images: each sample's distance to the subject, the
  class samples' diversity and both prompts' class accuracy."""
  return {"identifier_distances": sample_distances(judge, with_identifier, instance).tolist(),
          "class_distances": sample_distances(judge, without, instance).tolist(),
          "class_diversity": diversity(judge, without),
          "class_accuracy": class_accuracy(judge, without, label),
          "identifier_class_accuracy": class_accuracy(judge, with_identifier, label)}


def dreambooth_experiment(model, judge, instance: np.ndarray, word: str, config, out: str, *,
                          progress: bool = True) -> Dict[str, Dict[str, object]]:
  """`dreambooth_measures` before fine-tuning and after each of the two runs, each
  fine-tuned from `model`'s pretrained weights with the course `config`'s steps, learning
  rate and text-encoder setting. `model` is fine-tuned in place (so its traced steps serve
  every run) and has its pretrained weights back on return. Writes OUT/dreambooth.png (8
  samples of each prompt per run) and OUT/instance.png."""
  instance_dir = os.path.join(out, "instance")
  save_instance_images(instance, instance_dir)
  instance_prompt = f"a photo of sks {word}"
  class_prompt = CAPTION_TEMPLATE.format(word)
  label = judge.label_index(word)
  rows, measured = {}, {}
  pretrained = network_weights(model)
  try:
    for name, prior in ((BEFORE, None), (WITH_PRIOR, 1.0), (WITHOUT_PRIOR, 0.0)):
      if prior is not None:
        set_network_weights(model, pretrained)
        run_dir = os.path.join(out, f"lambda-{prior:g}")
        if prior:
          _share_class_images(out, run_dir)
        fine_tune(model, instance_dir, config.dreambooth(instance_prompt, class_prompt, prior),
                  run_dir, progress=progress)
      with_identifier, without = sample_grid(
          model, [instance_prompt, class_prompt], config.evaluation_samples,
          seed=config.seed + 1, steps=config.steps, guidance=config.guidance,
          progress=progress)
      measured[name] = dreambooth_measures(judge, with_identifier, without, instance, label)
      rows[f"{name}: sks"] = with_identifier[:8]
      rows[f"{name}: class"] = without[:8]
  finally:
    set_network_weights(model, pretrained)
  save_labeled_grid(os.path.join(out, "dreambooth.png"), np.concatenate(list(rows.values())),
                    row_labels=list(rows))
  save_labeled_grid(os.path.join(out, "instance.png"), instance,
                    row_labels=["instance images"])
  return measured


def network_weights(model) -> Dict[str, list]:
  """A copy of the weights of each of `model`'s networks, by name."""
  return {name: network.get_weights() for name, network in model.networks.items()}


def set_network_weights(model, weights: Dict[str, list]) -> None:
  """Gives `model`'s networks the weights `network_weights` copied."""
  for name, values in weights.items():
    model.networks[name].set_weights(values)


def _share_class_images(out: str, run_dir: str) -> None:
  """Points RUN_DIR/class_images at OUT/class_images, so runs share one cache."""
  shared = os.path.join(out, "class_images")
  os.makedirs(shared, exist_ok=True)
  os.makedirs(run_dir, exist_ok=True)
  link = os.path.join(run_dir, "class_images")
  if not os.path.lexists(link):
    os.symlink(os.path.relpath(shared, run_dir), link)
