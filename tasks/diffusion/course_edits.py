"""The course's prompt-to-prompt experiment: word swaps ("a photo of a A" -> "a photo of a
B") at the same seed, edited with cross-attention injection for a fraction tau_cross of
the steps and the source's self-attention for a fraction tau_self, swept; against the
plain regeneration of B from the same noise (tau_cross = tau_self = 0, which `edit`
gives bit for bit). Each edit is judged by class (is it B?) and by its structural
similarity to the source."""

from __future__ import annotations

import os
from typing import Dict, List, Optional, Sequence

import numpy as np

from tasks.diffusion.captions import CAPTION_TEMPLATE
from tasks.diffusion.grids import save_labeled_grid
from tasks.diffusion.image_metrics import pixel_distance, ssim
from tasks.diffusion.prompt_to_prompt import edits
from tff_course.atomic import atomic_path
from tff_course.course.questions import accuracy_standard_error

REGENERATED = "regenerated"


def swap_sweep(model, judge, swaps: Sequence[Sequence[str]], seeds: Sequence[int],
               tau_cross: float, tau_selfs: Sequence[float], *, steps: int,
               guidance: float, out: str, progress: bool = True) -> List[Dict[str, object]]:
  """One row per (swap, seed, setting): the setting is REGENERATED or a tau_self; each
  row says whether the judge calls the image B, and its SSIM and pixel distance to the
  source image. Writes OUT/edits.png (source, regenerated and each tau_self for the first
  four seeds of every swap) and OUT/attention.png (the first source's maps)."""
  from tasks.diffusion.attention_maps import save_token_maps
  from tqdm.auto import tqdm

  rows, grid, labels = [], [], []
  settings = [(REGENERATED, 0.0, 0.0)] + [(tau, tau_cross, tau) for tau in tau_selfs]
  bar = tqdm(total=len(swaps) * len(seeds) * len(settings), desc="prompt-to-prompt",
             unit="edit", disable=not progress)
  for source_word, target_word in swaps:
    source_prompt, target_prompt = (CAPTION_TEMPLATE.format(word)
                                    for word in (source_word, target_word))
    target = judge.label_index(target_word)
    with edits(model, source_prompt, target_prompt, kind="swap") as edit_at:
      for seed in seeds:
        results = []
        for _, cross, self_tau in settings:
          results.append(edit_at(cross, self_tau, seed=seed, steps=steps, guidance=guidance,
                                 progress=False))
          bar.update()
        source = results[0].source
        if not rows:
          save_token_maps(os.path.join(out, "attention.png"), results[0].maps,
                          model.tokenizer, results[0].tokens[0], row=0, image=source,
                          title=source_prompt)
        edited = np.stack([result.edited for result in results])
        sources = np.repeat(source[None], len(edited), 0)
        similarity, distance = ssim(edited, sources), pixel_distance(edited, sources)
        is_target = judge.predict(edited) == target
        rows += [{"source": source_word, "target": target_word, "seed": int(seed),
                  "setting": setting, "is_target": bool(is_target[i]),
                  "ssim": float(similarity[i]), "pixel_distance": float(distance[i])}
                 for i, (setting, _, _) in enumerate(settings)]
        if seed in seeds[:4]:
          grid.append(np.concatenate([source[None], edited]))
          labels.append(f"{source_word} -> {target_word}, seed {seed}")
  bar.close()
  save_labeled_grid(os.path.join(out, "edits.png"), np.concatenate(grid), row_labels=labels,
                    col_labels=["source", REGENERATED] + [f"tau_self {tau:g}"
                                                          for tau in tau_selfs])
  return rows


def setting_summary(rows: Sequence[Dict[str, object]]) -> Dict[str, Dict[str, float]]:
  """Per setting: n, the fraction judged B with its binomial standard error, the mean
  SSIM to the source, and the mean paired SSIM gain over the regeneration of the same
  (swap, seed) with its standard error."""
  regenerated = {_key(row): row["ssim"] for row in rows if row["setting"] == REGENERATED}
  summary = {}
  for setting in dict.fromkeys(row["setting"] for row in rows):
    chosen = [row for row in rows if row["setting"] == setting]
    hits = np.array([row["is_target"] for row in chosen], np.float64)
    gains = np.array([row["ssim"] - regenerated[_key(row)] for row in chosen])
    rate = float(hits.mean())
    summary[str(setting)] = {
        "n": len(chosen), "target_rate": rate,
        "target_rate_se": accuracy_standard_error(rate, len(chosen)),
        "ssim": float(np.mean([row["ssim"] for row in chosen])),
        "ssim_gain": float(gains.mean()), "ssim_gain_se": _standard_error(gains)}
  return summary


def _key(row):
  return row["source"], row["target"], row["seed"]


def _standard_error(values: np.ndarray) -> float:
  return float(values.std(ddof=1) / np.sqrt(len(values))) if len(values) > 1 else 0.0


def save_sweep_plot(summary: Dict[str, Dict[str, float]], path: str, *,
                    tau_cross: Optional[float] = None) -> str:
  """Two panels against tau_self: the SSIM gain over the regeneration, and the fraction
  judged B (the regeneration's as a band), each with +-1 standard error."""
  from matplotlib.backends.backend_agg import FigureCanvasAgg
  from matplotlib.figure import Figure

  taus = [key for key in summary if key != REGENERATED]
  x = np.array([float(tau) for tau in taus])
  figure = Figure(figsize=(9.0, 3.6), layout="constrained")
  FigureCanvasAgg(figure)
  gain_axis, rate_axis = figure.subplots(1, 2)
  gain_axis.errorbar(x, [summary[t]["ssim_gain"] for t in taus],
                     [summary[t]["ssim_gain_se"] for t in taus], marker="o", capsize=3)
  gain_axis.axhline(0.0, color="gray", linewidth=1)
  gain_axis.set_ylabel("SSIM to source: edit - regeneration")
  rate_axis.errorbar(x, [summary[t]["target_rate"] for t in taus],
                     [summary[t]["target_rate_se"] for t in taus], marker="o", capsize=3,
                     label="edit")
  base = summary[REGENERATED]
  rate_axis.axhspan(base["target_rate"] - base["target_rate_se"],
                    base["target_rate"] + base["target_rate_se"], color="gray", alpha=0.3,
                    label="regeneration")
  rate_axis.set_ylim(0, 1.05)
  rate_axis.set_ylabel("judged as the new class")
  rate_axis.legend(fontsize="small")
  if tau_cross is not None:
    figure.suptitle(f"Word swaps: source cross-attention for {tau_cross:g} of the steps, "
                    f"its self-attention for tau_self")
  for axis in (gain_axis, rate_axis):
    axis.set_xlabel("tau_self")
    axis.grid(alpha=0.3)
  with atomic_path(path) as temp:
    figure.savefig(temp, dpi=110, format="png")
  return path
