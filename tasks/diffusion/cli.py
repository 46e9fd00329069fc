"""`tff-course diffusion`: pretrain the small text-to-image model, sample from it or from
Stable Diffusion, fine-tune either with DreamBooth, and edit with prompt-to-prompt."""

from __future__ import annotations

import argparse
import json
import os

import numpy as np

from tff_course.arguments import add_out
from tff_course.data.locate import add_data_dir, resolve_data_dir

STABLE_DIFFUSION = "stable-diffusion"
MODEL_HELP = (f"a model directory written by 'diffusion pretrain' (its model/ folder or "
              f"the run directory), or {STABLE_DIFFUSION!r} for KerasCV's Stable Diffusion v1")


def add_parser(commands) -> None:
  """Adds `diffusion` and its actions to the `tff-course` subcommands."""
  parser = commands.add_parser(
      "diffusion", help="text-to-image diffusion: pretrain a small model, DreamBooth, "
                        "prompt-to-prompt",
      description="Text-to-image diffusion on KerasCV's Stable Diffusion design: a small "
                  "model trained here from scratch, or Stable Diffusion v1 with its "
                  "published weights (downloaded by KerasCV, or from --weights-dir).",
      epilog="example: tff-course diffusion pretrain --out runs/diffusion; tff-course "
             "diffusion generate --model runs/diffusion --prompt 'a photo of a sneaker'")
  actions = parser.add_subparsers(dest="action", metavar="ACTION")
  actions.required = True
  _add_pretrain(actions)
  _add_generate(actions)
  _add_dreambooth(actions)
  _add_edit(actions)
  _add_course(actions)


def _common(parser, out_help: str, out_default: str) -> None:
  parser.add_argument("--vocabulary", metavar="PATH",
                      help="CLIP's bpe_simple_vocab_16e6.txt.gz, or a folder holding it "
                           "(default: DATA_DIR/clip when there, else KerasCV's download)")
  add_data_dir(parser)
  add_out(parser, out_help, default=out_default)


def _add_pretrain(actions) -> None:
  from tasks.diffusion.pretrain import PretrainConfig

  defaults = PretrainConfig()
  parser = actions.add_parser(
      "pretrain", help="train the small text-to-image model from scratch",
      description="Train the small text-to-image model (an autoencoder, then a UNet with "
                  "cross-attention to a CLIP text encoder) on a real dataset captioned "
                  "'a photo of a {class}'. Resumes from OUT's checkpoints when run again. "
                  "Writes OUT/model (the model), config.json, versions.json, metrics.json.")
  parser.add_argument("--dataset", choices=("fashion_mnist", "cifar10"),
                      default=defaults.dataset)
  parser.add_argument("--steps", type=int, default=defaults.steps,
                      help="UNet training steps (default %(default)s)")
  parser.add_argument("--autoencoder-steps", type=int, default=defaults.autoencoder_steps,
                      help="autoencoder training steps (default %(default)s)")
  parser.add_argument("--batch-size", type=int, default=defaults.batch_size)
  parser.add_argument("--learning-rate", type=float, default=defaults.learning_rate)
  parser.add_argument("--limit", type=int, help="use only this many training images")
  parser.add_argument("--seed", type=int, default=defaults.seed)
  parser.add_argument("--checkpoint-every", type=int, default=defaults.checkpoint_every)
  _common(parser, "run directory (default: %(default)s)", "runs/diffusion")
  parser.set_defaults(handler=_pretrain)


def _add_generate(actions) -> None:
  parser = actions.add_parser(
      "generate", help="draw a grid of images for one or more prompts",
      description="Draw N images per prompt, seeded (column j of every row starts from "
                  "the same noise), and save them as one labelled grid.")
  parser.add_argument("--model", required=True, help=MODEL_HELP)
  parser.add_argument("--prompt", action="append", required=True,
                      help="a prompt (repeat for several rows)")
  parser.add_argument("--images", type=int, default=8, help="images per prompt")
  _sampling_options(parser)
  _common(parser, "PNG file to write (default: %(default)s)", "samples.png")
  parser.set_defaults(handler=_generate)


def _sampling_options(parser) -> None:
  parser.add_argument("--seed", type=int, default=0)
  parser.add_argument("--steps", type=int, default=50, help="DDIM steps (default 50)")
  parser.add_argument("--guidance", type=float, default=None,
                      help="classifier-free guidance scale (default: 7.5 for Stable "
                           "Diffusion, 3 for the small model)")
  parser.add_argument("--weights-dir", metavar="DIR",
                      help="stable-diffusion: a folder holding KerasCV's published weight "
                           "files under their published names (default: KerasCV's download)")
  parser.add_argument("--image-size", type=int, default=512,
                      help="stable-diffusion: image height and width (default 512)")


def _add_dreambooth(actions) -> None:
  parser = actions.add_parser(
      "dreambooth", help="fine-tune on a few images of one subject (DreamBooth)",
      description="Fine-tune the UNet (and optionally the text encoder) on a few images "
                  "of one subject, bound to a rare identifier, with prior preservation "
                  "on the model's own class-prompt samples (cached in OUT/class_images). "
                  "Resumes from OUT/checkpoints; exports OUT/weights/*.h5 and a grid "
                  "OUT/samples.png with and without the identifier.")
  parser.add_argument("--model", required=True, help=MODEL_HELP)
  parser.add_argument("--instance-dir", required=True,
                      help="folder of the subject's images (PNG, JPEG, ...)")
  parser.add_argument("--instance-prompt", required=True,
                      help="prompt with the identifier, e.g. 'a photo of sks dog'")
  parser.add_argument("--class-prompt", required=True,
                      help="the same without it, e.g. 'a photo of dog'")
  parser.add_argument("--identifier", default="sks")
  parser.add_argument("--class-images", type=int, default=100)
  parser.add_argument("--prior-weight", type=float, default=1.0,
                      help="lambda of the prior-preservation loss; 0 turns it off")
  parser.add_argument("--train-steps", type=int, default=None,
                      help="default: 400 for Stable Diffusion, 300 for the small model")
  parser.add_argument("--batch-size", type=int, default=4)
  parser.add_argument("--learning-rate", type=float, default=None,
                      help="default: 5e-6 for Stable Diffusion (the paper's), 3e-4 for the "
                           "small model (measured: benchmarks/RESULTS.md)")
  parser.add_argument("--train-text-encoder", action=argparse.BooleanOptionalAction,
                      default=None,
                      help="fine-tune the text encoder too (default: no for Stable "
                           "Diffusion, yes for the small model, whose untrained "
                           "identifier token otherwise barely changes the prompt)")
  parser.add_argument("--checkpoint-every", type=int, default=100)
  parser.add_argument("--images", type=int, default=8, help="grid images per prompt")
  _sampling_options(parser)
  _common(parser, "run directory (default: %(default)s)", "runs/dreambooth")
  parser.set_defaults(handler=_dreambooth)


def _add_edit(actions) -> None:
  parser = actions.add_parser(
      "edit", help="edit an image by its prompt, controlling cross-attention "
                   "(prompt-to-prompt)",
      description="Sample the source prompt and its edit together from the same noise, "
                  "the edit's attention tied to the source's for the first steps (Hertz "
                  "et al. 2022). Writes OUT/edit.png (source, edit, and the edit "
                  "regenerated without attention control) and OUT/attention.png (the "
                  "source's per-token cross-attention maps).")
  parser.add_argument("--model", required=True, help=MODEL_HELP)
  parser.add_argument("--source", required=True, help="the source image's prompt")
  parser.add_argument("--target", required=True, help="the edited prompt")
  parser.add_argument("--kind", choices=("swap", "refine", "reweight"), default="swap",
                      help="swap: a word replaced (same token count); refine: words "
                           "added; reweight: only --weight")
  parser.add_argument("--tau-cross", type=float, default=0.8,
                      help="fraction of the steps with cross-attention injected")
  parser.add_argument("--tau-self", type=float, default=0.4,
                      help="fraction of the steps with self-attention injected")
  parser.add_argument("--weight", action="append", default=[], metavar="WORD=FACTOR",
                      help="scale a word's attention in the edit (repeatable)")
  parser.add_argument("--blend", action="append", default=[], metavar="WORD",
                      help="local blending: only the region of these words may change")
  _sampling_options(parser)
  _common(parser, "output directory (default: %(default)s)", "runs/edit")
  parser.set_defaults(handler=_edit)


def _add_course(actions) -> None:
  from tasks.diffusion.course import EXPERIMENTS, CourseConfig

  defaults = CourseConfig()
  parser = actions.add_parser(
      "course", help="the course's experiments on the small model, with a report",
      description="On the pretrained small model: the class accuracy of its samples, "
                  "DreamBooth with and without prior preservation, and prompt-to-prompt "
                  "word swaps swept over tau_self, judged by a classifier trained on the "
                  "same dataset (cached in OUT/judge). Writes OUT/report.md (the claims, "
                  "with standard errors and verdicts), results.json and figures. Run the "
                  "experiments one command each with --only; the report gathers them.")
  parser.add_argument("--model", required=True,
                      help="the small model ('diffusion pretrain' run directory)")
  parser.add_argument("--only", nargs="+", choices=EXPERIMENTS, default=list(EXPERIMENTS),
                      metavar="EXPERIMENT",
                      help=f"run only these of {', '.join(EXPERIMENTS)} (default: all)")
  parser.add_argument("--dreambooth-steps", type=int, default=defaults.dreambooth_steps)
  parser.add_argument("--dreambooth-learning-rate", type=float,
                      default=defaults.dreambooth_learning_rate)
  parser.add_argument("--train-text-encoder", action=argparse.BooleanOptionalAction,
                      default=defaults.train_text_encoder,
                      help="DreamBooth fine-tunes the text encoder too")
  parser.add_argument("--samples-per-class", type=int, default=defaults.samples_per_class)
  parser.add_argument("--edit-seeds", type=int, default=defaults.edit_seeds)
  parser.add_argument("--steps", type=int, default=defaults.steps, help="DDIM steps")
  parser.add_argument("--seed", type=int, default=defaults.seed)
  _common(parser, "run directory (default: %(default)s)", "runs/diffusion-course")
  parser.set_defaults(handler=_course)


def _weights(pairs):
  from tff_course.errors import ConfigError

  weights = {}
  for pair in pairs:
    word, _, factor = pair.partition("=")
    try:
      weights[word.strip()] = float(factor)
    except ValueError:
      raise ConfigError(f"--weight: got {pair!r}, expected WORD=FACTOR, e.g. "
                        f"sneaker=2") from None
  return weights or None


def vocabulary_for(args):
  """--vocabulary, else DATA_DIR/clip when it holds the file, else None (download)."""
  from tasks.diffusion.published import VOCABULARY

  if args.vocabulary:
    return args.vocabulary
  data_dir = resolve_data_dir(args.data_dir)
  folder = os.path.join(data_dir, "clip") if data_dir else None
  return folder if folder and os.path.isfile(os.path.join(folder, VOCABULARY.name)) else None


def small_model_dir(path: str) -> str:
  """A pretrain run directory's model/ folder, or `path` itself."""
  from tasks.diffusion.pretrain import MODEL_DIR
  from tasks.diffusion.small_model import CONFIG_FILE

  inner = os.path.join(path, MODEL_DIR)
  return inner if os.path.isfile(os.path.join(inner, CONFIG_FILE)) else path


def load_model(args):
  """The model --model names, and whether it is Stable Diffusion."""
  from tasks.diffusion.small_model import load_small_model

  if args.model == STABLE_DIFFUSION:
    from tasks.diffusion.stable_diffusion import load_stable_diffusion

    return load_stable_diffusion(weights_dir=args.weights_dir, image_size=args.image_size,
                                 vocabulary=vocabulary_for(args)), True
  return load_small_model(small_model_dir(args.model),
                          vocabulary=vocabulary_for(args))[0], False


def _guidance(args, stable: bool) -> float:
  return args.guidance if args.guidance is not None else (7.5 if stable else 3.0)


def _pretrain(args) -> int:
  from tasks.diffusion.pretrain import PretrainConfig, pretrain
  from tff_course.output_paths import check_output_dir

  check_output_dir(args.out, "--out")
  config = PretrainConfig(dataset=args.dataset, steps=args.steps,
                          autoencoder_steps=args.autoencoder_steps,
                          batch_size=args.batch_size, learning_rate=args.learning_rate,
                          limit=args.limit, seed=args.seed,
                          checkpoint_every=args.checkpoint_every)
  metrics = pretrain(args.out, config, data_dir=args.data_dir,
                     vocabulary=vocabulary_for(args))
  print(f"autoencoder mse {metrics['autoencoder']['final_mse']:.4f}, denoising loss "
        f"{metrics['unet']['final_loss']:.4f}, {metrics['seconds_this_invocation']:.0f} s "
        f"this invocation")
  print(f"wrote {os.path.join(args.out, 'model')}")
  return 0


def _generate(args) -> int:
  from tasks.diffusion.dreambooth import sample_grid
  from tasks.diffusion.grids import save_labeled_grid
  from tasks.diffusion.sampler import check_sampling

  guidance = _guidance(args, args.model == STABLE_DIFFUSION)
  check_sampling(args.steps, guidance)
  model, _ = load_model(args)
  grid = sample_grid(model, args.prompt, args.images, seed=args.seed, steps=args.steps,
                     guidance=guidance)
  save_labeled_grid(args.out, grid.reshape((-1,) + grid.shape[2:]), row_labels=args.prompt)
  print(f"wrote {args.out}")
  return 0


def _dreambooth(args) -> int:
  from tasks.diffusion.course import CourseConfig
  from tasks.diffusion.dreambooth import DreamBoothConfig, fine_tune, sample_grid
  from tasks.diffusion.grids import save_labeled_grid
  from tff_course.atomic import write_text
  from tff_course.output_paths import check_output_dir

  check_output_dir(args.out, "--out")
  stable = args.model == STABLE_DIFFUSION
  small = CourseConfig()
  config = DreamBoothConfig(
      instance_prompt=args.instance_prompt, class_prompt=args.class_prompt,
      identifier=args.identifier, class_images=args.class_images,
      prior_weight=args.prior_weight,
      steps=args.train_steps or (400 if stable else small.dreambooth_steps),
      batch_size=args.batch_size,
      learning_rate=args.learning_rate or (5e-6 if stable else small.dreambooth_learning_rate),
      train_text_encoder=(args.train_text_encoder if args.train_text_encoder is not None
                          else not stable and small.train_text_encoder),
      checkpoint_every=args.checkpoint_every,
      seed=args.seed, sample_steps=args.steps, guidance=_guidance(args, stable))
  model, _ = load_model(args)
  metrics = fine_tune(model, args.instance_dir, config, args.out)
  for note in metrics["notes"]:
    print(f"note: {note}")
  prompts = [config.instance_prompt, config.class_prompt]
  grid = sample_grid(model, prompts, args.images, seed=args.seed, steps=args.steps,
                     guidance=config.guidance)
  save_labeled_grid(os.path.join(args.out, "samples.png"),
                    grid.reshape((-1,) + grid.shape[2:]), row_labels=prompts)
  write_text(os.path.join(args.out, "metrics.json"), json.dumps(metrics, indent=2))
  if metrics["resumed_at"] >= metrics["steps"]:
    print(f"already fine-tuned for {metrics['steps']} steps (checkpoint in {args.out})")
  else:
    print(f"denoising loss {metrics['final_loss']:.4f} after {metrics['steps']} steps")
  print(f"wrote {os.path.join(args.out, 'weights')}, {os.path.join(args.out, 'samples.png')}")
  return 0


def _edit(args) -> int:
  from tasks.diffusion.attention_maps import save_token_maps
  from tasks.diffusion.grids import save_labeled_grid
  from tasks.diffusion.prompt_to_prompt import edit, edit_controller
  from tasks.diffusion.sampler import check_sampling, generate
  from tff_course.output_paths import check_output_dir

  check_output_dir(args.out, "--out")
  guidance = _guidance(args, args.model == STABLE_DIFFUSION)
  check_sampling(args.steps, guidance)
  model, _ = load_model(args)
  options = dict(kind=args.kind, tau_cross=args.tau_cross, tau_self=args.tau_self,
                 weights=_weights(args.weight), blend_words=args.blend or None)
  edit_controller(model, args.source, args.target, **options)
  result = edit(model, args.source, args.target, seed=args.seed, steps=args.steps,
                guidance=guidance, **options)
  plain = generate(model, [args.source, args.target], seed=args.seed, steps=args.steps,
                   guidance=guidance, description="without attention control")[1]
  os.makedirs(args.out, exist_ok=True)
  grid = os.path.join(args.out, "edit.png")
  save_labeled_grid(grid, np.stack([result.source, result.edited, plain]),
                    row_labels=[f"seed {args.seed}"],
                    col_labels=[args.source, f"{args.target} (edited)",
                                f"{args.target} (regenerated)"])
  maps = os.path.join(args.out, "attention.png")
  save_token_maps(maps, result.maps, model.tokenizer, result.tokens[0], row=0,
                  image=result.source, title=args.source)
  print(f"wrote {grid}, {maps}")
  return 0


def _course(args) -> int:
  import dataclasses

  from tasks.diffusion.course import CourseConfig, run_course
  from tff_course.output_paths import check_output_dir

  check_output_dir(args.out, "--out")
  config = dataclasses.replace(
      CourseConfig(), dreambooth_steps=args.dreambooth_steps,
      dreambooth_learning_rate=args.dreambooth_learning_rate,
      train_text_encoder=args.train_text_encoder, samples_per_class=args.samples_per_class,
      edit_seeds=args.edit_seeds, steps=args.steps, seed=args.seed)
  path = run_course(args.out, small_model_dir(args.model), config, experiments=args.only,
                    data_dir=args.data_dir, vocabulary=vocabulary_for(args))
  print(f"wrote {path}")
  return 0
