"""`tff-course distributed local-sgd|slowmo|pipeline|hybrid|async`: one model trained by K
worker processes that average their weights every H local steps (TensorFlow's collective
all-reduce), or the exact single-process simulation of the same run; or cut into S stage
processes that a pipeline schedule drives (P such pipelines at once: hybrid); or by workers
that update weights on parameter servers asynchronously (`async_command`)."""

from __future__ import annotations

import dataclasses
import json
import os
import sys

import numpy as np

from tff_course.arguments import add_out
from tff_course.cli.async_command import add_parser as add_async_parser
from tff_course.cli.options import add_training_source

SYNCS_FILE = "syncs.json"
SUMMARY_FILE = "summary.json"


def add_parser(commands) -> None:
  distributed = commands.add_parser(
      "distributed", help="train one model on several processes (Local SGD, SlowMo, "
                          "pipelines, asynchronous SGD)",
      description="Distributed training on TensorFlow's runtime: worker processes on "
                  "loopback ports (or, for Local SGD, the addresses you give) that average "
                  "their weights with a ring all-reduce, pipeline stages, or workers that "
                  "update weights held by parameter servers.")
  actions = distributed.add_subparsers(dest="action", metavar="ACTION")
  actions.required = True
  local = actions.add_parser(
      "local-sgd", help="K workers, H local SGD steps, then average (Stich 2019)",
      description="Local SGD: every worker takes H SGD steps on its own batches from the "
                  "common model, then the K models are averaged. H = 1 is synchronous "
                  "mini-batch SGD on K x B examples a step.",
      epilog="example: tff-course distributed local-sgd --workers 2 --local-steps 4 "
             "--syncs 20 --data-dir ../shared/data --limit 10000")
  _add_common(local)
  local.set_defaults(handler=_run, outer_lr=1.0, outer_momentum=0.0)
  slowmo = actions.add_parser(
      "slowmo", help="Local SGD with a slow outer momentum (Wang et al. 2020)",
      description="SlowMo: after each average, a slow step with momentum beta and learning "
                  "rate alpha on the averaged displacement (beta 0, alpha 1: Local SGD).",
      epilog="example: tff-course distributed slowmo --workers 2 --local-steps 4 "
             "--outer-momentum 0.6 --outer-lr 1.0 --data-dir ../shared/data --limit 10000")
  _add_common(slowmo)
  slowmo.add_argument("--outer-lr", type=float, default=1.0, metavar="ALPHA",
                      help="slow learning rate alpha (default 1.0)")
  slowmo.add_argument("--outer-momentum", type=float, default=0.5, metavar="BETA",
                      help="slow momentum beta in [0, 1) (default 0.5)")
  slowmo.set_defaults(handler=_run)
  _add_pipeline(actions)
  add_async_parser(actions)


def _add_pipeline(actions) -> None:
  pipeline = actions.add_parser(
      "pipeline", help="pipeline parallelism: the model cut into S stage processes",
      description="Pipeline parallelism with micro-batches: the model's layers cut into S "
                  "stages, one process each; this process dispatches every micro-batch's "
                  "forward and backward passes by the schedule (GPipe or 1F1B), gradients "
                  "accumulate over M micro-batches, then each stage takes an SGD step. "
                  "Writes the median step's Gantt chart, the timeline and a summary.",
      epilog="example: tff-course distributed pipeline --stages 3 --micro-batches 6 "
             "--batch-size 96 --steps 10 --compare --data-dir ../shared/data --limit 5000")
  _add_pipeline_options(pipeline, pipelines=1)
  hybrid = actions.add_parser(
      "hybrid", help="P pipelines of S stages: data and model parallelism at once",
      description="P pipelines of S stage processes, each trained on its own batch; before "
                  "each step the P copies of every stage average their gradients within "
                  "their own group, so a step is SGD on the union of the P batches.",
      epilog="example: tff-course distributed hybrid --pipelines 2 --stages 3 "
             "--micro-batches 3 --batch-size 48 --compare --data-dir ../shared/data "
             "--limit 5000")
  _add_pipeline_options(hybrid, pipelines=2)


def _add_pipeline_options(parser, pipelines: int) -> None:
  from tff_course.distributed.pipeline_schedule import SCHEDULES

  parser.add_argument("--pipelines", type=int, default=pipelines, metavar="P",
                      help="pipelines trained together, each on its own batch of B; the "
                           "copies of a stage average their gradients before each step "
                           f"(P x S processes; default {pipelines})")
  parser.add_argument("--stages", type=int, default=3, metavar="S",
                      help="stage processes a pipeline (default 3)")
  parser.add_argument("--micro-batches", type=int, default=6 if pipelines == 1 else 3,
                      metavar="M", help="micro-batches a batch is cut into; must divide B")
  parser.add_argument("--batch-size", type=int, default=96 if pipelines == 1 else 48,
                      metavar="B", help="examples a pipeline's step")
  parser.add_argument("--steps", type=int, default=10, help="SGD steps (default 10)")
  parser.add_argument("--schedule", choices=SCHEDULES, default="1f1b",
                      help="gpipe: all forwards, then all backwards; 1f1b: one forward, "
                           "one backward (default 1f1b)")
  parser.add_argument("--lr", type=float, default=0.05, help="SGD rate (default 0.05)")
  parser.add_argument("--compare", action="store_true",
                      help="also train on one process and print the largest weight "
                           "difference")
  add_training_source(parser)
  add_out(parser, "folder for the summary, timeline and chart (default: runs/pipeline)",
          default=os.path.join("runs", "pipeline"))
  parser.add_argument("--no-progress", action="store_true", help="no progress bar")
  parser.set_defaults(handler=_pipeline)


def _pipeline(args) -> int:
  from tqdm.auto import tqdm

  from tff_course.atomic import write_text
  from tff_course.distributed.gantt import draw_gantt
  from tff_course.distributed.pipeline_run import (PipelineSettings, activation_stash,
                                                   run_pipeline, stage_input_shapes,
                                                   train_single_process)
  from tff_course.distributed.pipeline_schedule import bubble_fraction, ideal_bubble
  from tff_course.distributed.pipeline_split import split_layers
  from tff_course.distributed.training_source import TrainingSource
  from tff_course.versions import environment_versions

  settings = PipelineSettings(stages=args.stages, micro_batch_count=args.micro_batches,
                              batch_size=args.batch_size, steps=args.steps,
                              schedule=args.schedule, learning_rate=args.lr, seed=args.seed,
                              pipelines=args.pipelines)
  source = TrainingSource(args.dataset, args.model, args.data_dir, args.limit, args.seed)
  x, y, build = source.load()
  os.makedirs(args.out, exist_ok=True)
  write_text(os.path.join(args.out, "settings.json"), json.dumps(
      {**dataclasses.asdict(settings), **dataclasses.asdict(source)}, indent=1))
  write_text(os.path.join(args.out, "versions.json"),
             json.dumps(environment_versions(), indent=1))
  model = build()
  stash = activation_stash(settings, stage_input_shapes(model, split_layers(model,
                                                                           args.stages)))
  with tqdm(total=args.steps, unit="step", disable=args.no_progress, file=sys.stderr,
            desc=f"{args.pipelines * args.stages} stages", dynamic_ncols=True) as bar:

    def advance(_, result):
      bar.update(1)
      bar.set_postfix({"loss": f"{result.loss:.4f}"})

    weights, results = run_pipeline(build, x, y, settings, on_step=advance)
  timed = results[1:] or results
  median = sorted(timed, key=lambda r: r.seconds)[len(timed) // 2]
  bubbles = [bubble_fraction(r.times, args.stages) for r in timed]
  summary = {"losses": [r.loss for r in results], "step_seconds": [r.seconds for r in results],
             "median_step_seconds": median.seconds, "median_bubble": float(np.median(bubbles)),
             "ideal_bubble": ideal_bubble(args.stages, args.micro_batches),
             "stash_micro_batches": [count for count, _ in stash],
             "stash_bytes": [size for _, size in stash]}
  if args.compare:
    reference = train_single_process(build, x, y, settings)
    summary["max_weight_difference"] = max(float(np.max(np.abs(a - b)))
                                           for a, b in zip(weights, reference))
  write_text(os.path.join(args.out, "summary.json"), json.dumps(summary, indent=1))
  write_text(os.path.join(args.out, "timeline.json"), json.dumps(
      [{"stage": op.stage, "pass": op.kind, "micro_batch": op.micro_batch, "start": start,
        "end": end} for op, (start, end) in sorted(median.times.items())], indent=1))
  draw_gantt(median.times, args.stages, args.micro_batches,
             os.path.join(args.out, "gantt.png"),
             title=f"{args.schedule}, S = {args.stages}, M = {args.micro_batches}")
  lines = [f"{args.pipelines} x " * (args.pipelines > 1) +
           f"{args.stages} stages x {args.micro_batches} micro-batches ({args.schedule}), "
           f"{args.steps} steps: last loss {results[-1].loss:.4f}, median step "
           f"{1000 * median.seconds:.0f} ms, bubble {summary['median_bubble']:.1%} (ideal "
           f"{summary['ideal_bubble']:.1%})",
           "activations held per stage: " + ", ".join(
               f"{count} micro-batches ({size / 1e6:.2f} MB)" for count, size in stash)]
  if args.compare:
    lines.append(f"largest weight difference to one-process SGD: "
                 f"{summary['max_weight_difference']:.2e}")
  lines.append(f"wrote {args.out}: summary.json, timeline.json, gantt.png, settings.json, "
               "versions.json")
  print("\n".join(lines), file=sys.stdout)
  return 0


def _add_common(parser) -> None:
  parser.add_argument("--workers", type=int, default=2, metavar="K",
                      help="worker processes (default 2)")
  parser.add_argument("--local-steps", type=int, default=4, metavar="H",
                      help="SGD steps between averages (default 4)")
  parser.add_argument("--syncs", type=int, default=20,
                      help="averages, i.e. communication rounds (default 20)")
  parser.add_argument("--batch-size", type=int, default=32, metavar="B",
                      help="examples a worker's step (default 32)")
  parser.add_argument("--lr", type=float, default=0.05, help="inner SGD rate (default 0.05)")
  parser.add_argument("--momentum", type=float, default=0.0,
                      help="inner SGD momentum, kept by each worker (default 0)")
  parser.add_argument("--addresses", metavar="HOST:PORT,...",
                      help="the workers' addresses (default: free loopback ports)")
  parser.add_argument("--simulate", action="store_true",
                      help="run the K workers in this process, exactly (no all-reduce)")
  add_training_source(parser)
  add_out(parser, "folder for the job, records and weights (default: runs/distributed)",
          default=os.path.join("runs", "distributed"))
  parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def _run(args) -> int:
  from tff_course.atomic import write_text
  from tff_course.distributed.job import LocalSGDJob
  from tff_course.distributed.slowmo import SlowMoSettings
  from tff_course.versions import environment_versions

  settings = SlowMoSettings(
      workers=args.workers, local_steps=args.local_steps, syncs=args.syncs,
      batch_size=args.batch_size, inner_lr=args.lr, inner_momentum=args.momentum,
      outer_lr=args.outer_lr, outer_momentum=args.outer_momentum, seed=args.seed)
  job = LocalSGDJob(settings, dataset=args.dataset, model=args.model, data_dir=args.data_dir,
                    limit=args.limit)
  os.makedirs(args.out, exist_ok=True)
  write_text(os.path.join(args.out, "versions.json"),
             json.dumps(environment_versions(), indent=1))
  weights, records = _train(job, args)
  accuracy = job.test_accuracy(weights)
  write_text(os.path.join(args.out, SYNCS_FILE),
             json.dumps([dataclasses.asdict(r) for r in records], indent=1))
  compute = sum(r.compute_seconds for r in records)
  communication = sum(r.communication_seconds for r in records)
  summary = {"test_accuracy": accuracy, "final_loss": records[-1].loss,
             "compute_seconds": compute, "communication_seconds": communication,
             "bytes_reduced_per_sync": records[-1].bytes_reduced,
             "simulated": bool(args.simulate)}
  write_text(os.path.join(args.out, SUMMARY_FILE), json.dumps(summary, indent=1))
  print(f"{settings.workers} workers x {settings.steps} steps ({settings.syncs} syncs of "
        f"H = {settings.local_steps}): test accuracy {accuracy:.2%}, last loss "
        f"{records[-1].loss:.4f}\n"
        f"compute {compute:.1f} s, communication {communication:.1f} s, "
        f"{records[-1].bytes_reduced / 1e6:.2f} MB of weights all-reduced a sync\n"
        f"wrote {args.out}: job.json, {SYNCS_FILE}, {SUMMARY_FILE}, versions.json",
        file=sys.stdout)
  return 0


def _train(job, args):
  from tff_course.atomic import write_text
  from tff_course.distributed.launch import JOB_FILE, run_workers
  from tff_course.distributed.local_sgd import simulate

  if args.simulate:
    from tqdm.auto import tqdm

    write_text(os.path.join(args.out, JOB_FILE), job.to_json())
    x, y, build = job.load()
    with tqdm(total=job.settings.syncs, unit="sync", disable=args.no_progress,
              file=sys.stderr, desc="simulated workers", dynamic_ncols=True) as bar:

      def advance(record):
        bar.update(1)
        bar.set_postfix({"loss": f"{record.loss:.4f}"})

      return simulate(build, job.settings, x, y, on_sync=advance)
  addresses = args.addresses.split(",") if args.addresses else None
  per_worker, records = run_workers(job, args.out, addresses=addresses,
                                    progress=not args.no_progress)
  return per_worker[0], records
