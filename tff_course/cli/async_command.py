"""`tff-course distributed async`: asynchronous SGD with parameter servers, its staleness,
and (with --compare) synchronous SGD on the same batches for the same number of steps."""

from __future__ import annotations

import json
import os
import sys

import numpy as np

from tff_course.arguments import add_out
from tff_course.cli.options import add_training_source

SUMMARY_FILE = "summary.json"
FIGURE_FILE = "staleness.png"


def add_parser(actions) -> None:
  parser = actions.add_parser(
      "async", help="asynchronous SGD: W workers, P parameter servers (staleness recorded)",
      description="Asynchronous SGD with tf.distribute's ParameterServerStrategy: this "
                  "process starts W worker and P parameter-server processes and a "
                  "coordinator that hands each SGD step of B examples to whichever worker "
                  "is free; every update is applied to the weights on the servers as soon "
                  "as it arrives. Records each gradient's staleness (updates applied by "
                  "others between its read of the weights and its own update) and writes "
                  "a histogram. --synchronous waits for each step before the next "
                  "(staleness 0).",
      epilog="example: tff-course distributed async --workers 2 --steps 300 --compare "
             "--data-dir ../shared/data --limit 10000")
  parser.add_argument("--workers", type=int, default=2, metavar="W",
                      help="worker processes (default 2)")
  parser.add_argument("--parameter-servers", type=int, default=1, metavar="P",
                      help="parameter-server processes holding the weights (default 1)")
  parser.add_argument("--steps", type=int, default=200,
                      help="SGD steps, i.e. applied gradients (default 200)")
  parser.add_argument("--batch-size", type=int, default=64, metavar="B",
                      help="examples a step (default 64)")
  parser.add_argument("--lr", type=float, default=0.05, help="SGD rate (default 0.05)")
  parser.add_argument("--synchronous", action="store_true",
                      help="dispatch a step only once the previous one is applied")
  parser.add_argument("--compare", action="store_true",
                      help="also train synchronous SGD on the same batches in this process "
                           "and print both test accuracies")
  parser.add_argument("--addresses", metavar="HOST:PORT,...",
                      help="the coordinator's, then each worker's, then each parameter "
                           "server's address (default: free loopback ports); processes of "
                           "other machines are started there with python -m "
                           "tff_course.distributed.stage_server --spec CLUSTER_JSON --job "
                           "worker|ps --index I, CLUSTER_JSON as in OUT/cluster.json")
  add_training_source(parser)
  add_out(parser, "folder for the job, records, summary and figure (default: runs/async)",
          default=os.path.join("runs", "async"))
  parser.add_argument("--no-progress", action="store_true", help="no progress bar")
  parser.set_defaults(handler=run)


def run(args) -> int:
  from tff_course.atomic import write_text
  from tff_course.distributed.async_launch import run_async
  from tff_course.distributed.async_sgd import AsyncSettings, staleness_histogram
  from tff_course.distributed.job import AsyncJob
  from tff_course.distributed.reference_sgd import sgd_on_batches
  from tff_course.distributed.staleness_figure import draw_staleness
  from tff_course.versions import environment_versions

  settings = AsyncSettings(workers=args.workers, parameter_servers=args.parameter_servers,
                           steps=args.steps, batch_size=args.batch_size,
                           learning_rate=args.lr, seed=args.seed,
                           synchronous=args.synchronous)
  job = AsyncJob(settings, dataset=args.dataset, model=args.model, data_dir=args.data_dir,
                 limit=args.limit)
  os.makedirs(args.out, exist_ok=True)
  write_text(os.path.join(args.out, "versions.json"),
             json.dumps(environment_versions(), indent=1))
  addresses = args.addresses.split(",") if args.addresses else None
  weights, records = run_async(job, args.out, addresses=addresses,
                               progress=not args.no_progress)
  staleness = [r.staleness for r in records]
  summary = {"test_accuracy": job.test_accuracy(weights), "final_loss": records[-1].loss,
             "seconds": records[-1].seconds, "mean_staleness": float(np.mean(staleness)),
             "max_staleness": int(np.max(staleness)),
             "staleness_histogram": staleness_histogram(records)}
  mode = "synchronous" if settings.synchronous else "asynchronous"
  lines = [f"{mode} SGD, {settings.workers} workers, {settings.parameter_servers} parameter "
           f"server(s), {settings.steps} steps of {settings.batch_size}: test accuracy "
           f"{summary['test_accuracy']:.2%} in {summary['seconds']:.1f} s",
           f"staleness: mean {summary['mean_staleness']:.2f}, max {summary['max_staleness']}"]
  if args.compare:
    x, y, build = job.load()
    reference = sgd_on_batches(build, x, y, settings.batches(len(x)), settings.learning_rate,
                               settings.seed)
    summary["synchronous_test_accuracy"] = job.test_accuracy(reference)
    lines.append(f"synchronous SGD on the same batches: test accuracy "
                 f"{summary['synchronous_test_accuracy']:.2%}")
  write_text(os.path.join(args.out, SUMMARY_FILE), json.dumps(summary, indent=1))
  draw_staleness(records, os.path.join(args.out, FIGURE_FILE),
                 title=f"{mode} SGD, {settings.workers} workers")
  lines.append(f"wrote {args.out}: job.json, steps.json, {SUMMARY_FILE}, {FIGURE_FILE}, "
               "versions.json")
  print("\n".join(lines), file=sys.stdout)
  return 0
