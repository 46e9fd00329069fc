"""The diffusion course's report: what was measured, each claim of the issue and the papers
answered with its numbers, standard errors and a verdict, and the figures."""

from __future__ import annotations

import math
from typing import Dict, List, Sequence

import numpy as np

from tasks.diffusion.course_dreambooth import BEFORE, WITH_PRIOR, WITHOUT_PRIOR
from tasks.diffusion.course_edits import REGENERATED
from tff_course.course import markdown
from tff_course.course.questions import (NOT_REPRODUCED, REPRODUCED, WITHIN_NOISE, Answer,
                                         accuracy_standard_error, mean_and_error,
                                         questions_section, sign_verdict)

ACCURACY_TARGET = 0.8
ERRORS = ("Standard errors: binomial for fractions judged as a class; for distances and "
          "SSIM, of the mean of paired differences (the two images of a pair start from "
          "the same noise). A verdict needs the difference to exceed two of them.")


def paired(first: Sequence[float], second: Sequence[float]):
  """Mean of first - second, element by element, and its standard error."""
  return mean_and_error(np.asarray(first, np.float64) - np.asarray(second, np.float64))


def accuracy_answer(accuracy: Dict[str, float], per_class: int) -> Answer:
  rate = float(np.mean(list(accuracy.values())))
  error = accuracy_standard_error(rate, per_class * len(accuracy))
  worst = min(accuracy, key=accuracy.get)
  if rate >= ACCURACY_TARGET:
    verdict = REPRODUCED
  else:
    verdict = NOT_REPRODUCED if ACCURACY_TARGET - rate > 2 * error else WITHIN_NOISE
  return Answer("Are at least 80 % of the samples of 'a photo of a {class}' classified as "
                "that class?",
                f"{rate:.1%} +- {error:.1%} of {per_class * len(accuracy)} samples (lowest: "
                f"{worst}, {accuracy[worst]:.0%})", verdict, "the issue's target, 80 %")


def fidelity_answer(measured: Dict[str, Dict[str, object]]) -> Answer:
  run = measured[WITH_PRIOR]
  gain, error = paired(run["class_distances"], run["identifier_distances"])
  before, before_error = paired(measured[BEFORE]["class_distances"],
                                measured[BEFORE]["identifier_distances"])
  return Answer(
      "DreamBooth with prior preservation: are samples of 'a photo of sks {class}' closer "
      "to the subject than samples of 'a photo of a {class}'?",
      f"class-prompt distance minus sks-prompt distance {gain:+.3f} +- {error:.3f} "
      f"(before fine-tuning {before:+.3f} +- {before_error:.3f}); mean distances "
      f"{np.mean(run['identifier_distances']):.2f} (sks) and "
      f"{np.mean(run['class_distances']):.2f} (class)",
      sign_verdict(gain, error),
      "Ruiz et al. 2023: the identifier's samples keep the subject's identity")


def drift_answer(measured: Dict[str, Dict[str, object]]) -> Answer:
  with_prior, without = measured[WITH_PRIOR], measured[WITHOUT_PRIOR]
  drift, error = paired(with_prior["class_distances"], without["class_distances"])
  return Answer(
      "Language drift: without prior preservation, do class-prompt samples move towards "
      "the subject (and lose diversity)?",
      f"class samples' distance to the subject is {drift:+.3f} +- {error:.3f} lower "
      f"without the prior than with it; class diversity "
      f"{measured[BEFORE]['class_diversity']:.2f} before, "
      f"{with_prior['class_diversity']:.2f} with the prior, "
      f"{without['class_diversity']:.2f} without",
      sign_verdict(drift, error),
      "Ruiz et al. 2023, sec. 4.3: without the prior-preservation loss the class prompt "
      "produces the subject and loses diversity")


def edit_answer(summary: Dict[str, Dict[str, float]], tau_cross: float,
                 tau_self: float) -> Answer:
  """The claim at the configured tau_self; the sweep's other settings in the answer."""
  holding = [key for key in summary if key != REGENERATED and edit_holds(summary, key)]
  key = _tau_key(summary, tau_self)
  row, base = summary[key], summary[REGENERATED]
  verdict = edit_verdict(summary, key)
  return Answer(
      "Prompt-to-prompt word swap: with attention injection, is the edit classified as the "
      "new class and closer to the source than a plain regeneration?",
      f"at tau_cross {tau_cross:g}, tau_self {tau_self:g}: judged B "
      f"{row['target_rate']:.0%} +- {row['target_rate_se']:.0%} (regeneration "
      f"{base['target_rate']:.0%}), SSIM gain over the regeneration "
      f"{row['ssim_gain']:+.3f} +- {row['ssim_gain_se']:.3f}; both hold at tau_self in "
      f"{{{', '.join(holding) or 'none'}}}",
      verdict, "Hertz et al. 2022: injected attention keeps the source's composition while "
               "the swapped word changes the object")


def edit_holds(summary: Dict[str, Dict[str, float]], key: str) -> bool:
  return edit_verdict(summary, key) == REPRODUCED


def edit_verdict(summary: Dict[str, Dict[str, float]], key: str) -> str:
  """Reproduced when the SSIM gain is over two standard errors and the fraction judged B
  is not below the regeneration's by more than two; not reproduced when either fails
  clearly; else within noise."""
  row, base = summary[key], summary[REGENERATED]
  closer = sign_verdict(row["ssim_gain"], row["ssim_gain_se"])
  shortfall = base["target_rate"] - row["target_rate"]
  shortfall_error = math.hypot(row["target_rate_se"], base["target_rate_se"])
  if closer == NOT_REPRODUCED or shortfall > 2 * shortfall_error:
    return NOT_REPRODUCED
  return closer


def _tau_key(summary: Dict[str, Dict[str, float]], tau: float) -> str:
  for key in summary:
    if key != REGENERATED and math.isclose(float(key), tau):
      return key
  raise KeyError(f"tau_self {tau:g} is not in the sweep {list(summary)}")


def course_report(results: Dict[str, object], config) -> str:
  """The report: the measured tables, the claims with verdicts, the figures."""
  lines = ["# Diffusion course: the small model, DreamBooth, prompt-to-prompt", "",
           f"Judge: a CNN trained on the same dataset, test accuracy "
           f"{results['judge_test_accuracy']:.1%}. Sampling: {config.steps} DDIM steps, "
           f"guidance {config.guidance:g}.", ""]
  answers: List[Answer] = []
  if "class_accuracy" in results:
    accuracy = results["class_accuracy"]
    lines += ["## Samples of 'a photo of a {class}'", "",
              markdown.table(["class", "judged as the class"],
                             [(word, f"{value:.0%}") for word, value in accuracy.items()]),
              "", "![samples](samples.png)", ""]
    answers.append(accuracy_answer(accuracy, config.samples_per_class))
  if "dreambooth" in results:
    lines += _dreambooth_section(results["dreambooth"], config)
    answers += [fidelity_answer(results["dreambooth"]), drift_answer(results["dreambooth"])]
  if "prompt_to_prompt" in results:
    summary = results["prompt_to_prompt"]["summary"]
    lines += _edit_section(summary, config)
    answers.append(edit_answer(summary, config.tau_cross, config.tau_self))
  return "\n".join(lines + [questions_section(answers, ERRORS), ""])


def _dreambooth_section(measured, config) -> List[str]:
  encoder = "UNet and text encoder" if config.train_text_encoder else "UNet only"
  rows = [(name, f"{np.mean(values['identifier_distances']):.2f}",
           f"{np.mean(values['class_distances']):.2f}", f"{values['class_diversity']:.2f}",
           f"{values['class_accuracy']:.0%}") for name, values in measured.items()]
  return ["## DreamBooth", "",
          f"Subject: a {config.subject_class} of the test set, {config.instance_images} views; "
          f"{config.dreambooth_steps} steps at learning rate "
          f"{config.dreambooth_learning_rate:g} ({encoder}), {config.class_images} class "
          f"images; {config.evaluation_samples} samples per prompt. Distances are in the "
          f"judge's feature space, to the instance images.", "",
          markdown.table(["run", "sks: distance to subject", "class: distance to subject",
                          "class diversity", "class judged as class"], rows), "",
          "![instance images](dreambooth/instance.png)", "",
          "![dreambooth](dreambooth/dreambooth.png)", ""]


def _edit_section(summary, config) -> List[str]:
  rows = [(key if key == REGENERATED else f"tau_self {key}", values["n"],
           f"{values['target_rate']:.0%} +- {values['target_rate_se']:.0%}",
           f"{values['ssim']:.3f}",
           f"{values['ssim_gain']:+.3f} +- {values['ssim_gain_se']:.3f}",
           "" if key == REGENERATED else edit_verdict(summary, key))
          for key, values in summary.items()]
  swaps = ", ".join(f"{a} -> {b}" for a, b in config.swaps)
  return ["## Prompt-to-prompt", "",
          f"Word swaps {swaps}, {config.edit_seeds} seeds each; cross-attention injected "
          f"for the first {config.tau_cross:g} of the steps, the source's self-attention for "
          f"the first tau_self; 'regenerated' is the new prompt sampled from the same noise "
          f"without injection.", "",
          markdown.table(["setting", "n", "judged as the new class", "SSIM to source",
                          "SSIM gain over regeneration", "verdict"], rows), "",
          "![trade-off](p2p/sweep.png)", "", "![edits](p2p/edits.png)", "",
          "![attention](p2p/attention.png)", ""]
