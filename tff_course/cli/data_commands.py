"""`tff-course data ...`: list datasets; summarise and draw a partition."""

from __future__ import annotations

import json
import os

from tff_course.arguments import add_out
from tff_course.data.locate import add_data_dir


def add_parser(commands) -> None:
  data = commands.add_parser(
      "data", help="datasets and partitions",
      description="Inspect datasets and how a partition spreads them over clients.")
  sub = data.add_subparsers(dest="data_command", metavar="SUBCOMMAND")
  sub.required = True

  listing = sub.add_parser(
      "list", help="the datasets and where each would load from",
      description="List every dataset, and whether it loads from the data directory, "
                  "downloads through tensorflow-datasets, or is generated.")
  add_data_dir(listing)
  listing.set_defaults(handler=_list)

  summary = sub.add_parser(
      "summary", help="partition a dataset, print statistics, draw a heatmap",
      description="Partition a dataset's split into clients, print clients, examples "
                  "and classes per client, and write a client x class heatmap (PNG) and "
                  "summary.json (statistics, config and versions).",
      epilog="example: tff-course data summary --dataset mnist --partition dirichlet "
             "--alpha 0.1 --clients 100 --data-dir ../shared/data")
  summary.add_argument("--dataset", default="synthetic",
                       help="dataset name, see 'tff-course data list' (default: synthetic, "
                            "which needs no files)")
  add_data_dir(summary)
  summary.add_argument("--dataset-option", action="append", default=[], metavar="KEY=VALUE",
                       help="a dataset option, e.g. alpha=0.5 for synthetic, "
                            "label_mode=coarse for cifar100 (repeatable)")
  summary.add_argument("--split", choices=("train", "test"), default="train",
                       help="which split to partition (default: train)")
  summary.add_argument("--limit", type=int, help="load only the first N examples per split")
  summary.add_argument("--partition", choices=_partitions(), default=None,
                       help="how to split into clients (default: natural for datasets with "
                            "natural clients, else iid)")
  summary.add_argument("--clients", type=int, default=100, help="number of clients (default 100)")
  summary.add_argument("--samples-per-client", type=int,
                       help="examples per client (iid, classes; required for groups)")
  summary.add_argument("--shards-per-client", type=int, default=2,
                       help="shards per client for 'shards' (default 2, as McMahan et al.)")
  summary.add_argument("--classes-per-client", type=int, help="N for 'classes'")
  summary.add_argument("--alpha", type=float, help="Dirichlet concentration for 'dirichlet'")
  summary.add_argument("--min-size", type=int, default=1,
                       help="'dirichlet': redraw until every client has this many examples")
  summary.add_argument("--groups", help="'groups': classes of each group, e.g. '0,1,2;3,4,5;6,7,8,9'")
  summary.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
  add_out(summary, "output directory (default: runs/data/DATASET-PARTITION)")
  summary.set_defaults(handler=_summary)


def _partitions():
  from tff_course.partition.by_name import PARTITIONS
  return PARTITIONS


def _list(args) -> int:
  from tff_course.data import dataset_infos, resolve_data_dir
  from tff_course.data.locate import find_folder
  from tff_course.errors import DataError

  directory = resolve_data_dir(args.data_dir)
  for info in dataset_infos():
    if info.synthetic:
      where = "generated (no files needed)"
    elif directory is None:
      where = "downloads through tensorflow-datasets"
    else:
      try:
        where = find_folder(directory, info.name, info.folders)
      except DataError:
        where = f"not in {directory}"
    print(f"{info.name:15s} {info.description}\n{'':15s} -> {where}")
  return 0


def _summary(args) -> int:
  from tff_course.atomic import write_text
  from tff_course.data import load_dataset
  from tff_course.output_paths import check_output_dir
  from tff_course.partition import make_partition, parse_groups, plot_heatmap, summarize
  from tff_course.versions import environment_versions

  check_output_dir(args.out or os.path.join("runs", "data"), "--out")
  dataset = load_dataset(args.dataset, data_dir=args.data_dir, limit=args.limit,
                         seed=args.seed, **_options(args.dataset_option))
  split = getattr(dataset, args.split)
  kind = args.partition or ("natural" if split.client_ids is not None else "iid")
  partition = make_partition(
      kind, split, num_clients=args.clients, samples_per_client=args.samples_per_client,
      shards_per_client=args.shards_per_client, classes_per_client=args.classes_per_client,
      alpha=args.alpha, min_size=args.min_size,
      groups=parse_groups(args.groups) if args.groups else None, seed=args.seed)
  summary = summarize(partition, split, dataset.label_names)
  out = args.out or os.path.join("runs", "data", f"{dataset.name}-{kind}")
  check_output_dir(out, "--out")
  heatmap = plot_heatmap(summary, os.path.join(out, "heatmap.png"),
                         title=f"{dataset.name} {args.split}")
  record = {"config": {k: v for k, v in vars(args).items() if k != "handler"},
            "dataset": dataset.describe().splitlines(),
            "summary": summary.to_dict(), "versions": environment_versions()}
  write_text(os.path.join(out, "summary.json"), json.dumps(record, indent=2) + "\n")
  print(dataset.describe())
  print(summary.format())
  print(f"heatmap: {heatmap}\nsummary: {os.path.join(out, 'summary.json')}")
  return 0


def _options(pairs):
  from tff_course.key_value import parse_key_value

  return dict(parse_key_value(pair, "--dataset-option") for pair in pairs)
