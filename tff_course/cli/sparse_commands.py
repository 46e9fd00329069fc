"""`tff-course sparse prepare`: a pre-trained model, a head for the new task and calibrated
masks, ready for a sparse fine-tuning run."""

from __future__ import annotations

import os
import sys

from tff_course.arguments import add_out
from tff_course.cli.options import add_data_dir

RUN_CONFIG = "sparse-fedavg.json"


def add_parser(commands) -> None:
  from tff_course.sparse.calibration import RULES, SCOPES
  from tff_course.sparse.fisher import OBJECTIVES, TARGETS
  from tff_course.sparse.head import HEAD_METHODS
  from tff_course.sparse.prepare import RUN_MODELS, PrepareSettings

  defaults = PrepareSettings()
  sparse = commands.add_parser(
      "sparse", help="sparse fine-tuning of pre-trained models (TaLoS): masks, runs",
      description="Sparse fine-tuning and task arithmetic (Iurada et al., ICLR 2025).")
  actions = sparse.add_subparsers(dest="action", metavar="ACTION")
  actions.required = True
  prepare = actions.add_parser(
      "prepare", help="fit a head for a new task and calibrate the masks",
      description="Load a published pre-trained model (converted from its PyTorch "
                  "checkpoint), fit a new head for the dataset on frozen features, and "
                  "calibrate the masks of the weights that may be fine-tuned in rounds. "
                  f"Writes init.weights.h5, masks.npz, prepare.json, mask-density.png and "
                  f"{RUN_CONFIG} (FedAvg K=100, C=0.1, J=4, IID, ready for "
                  f"'tff-course train'). Re-running with the same settings does nothing.",
      epilog="example: tff-course sparse prepare --dataset fashion_mnist_rgb32 --density "
             "0.1 --data-dir ../shared/data --out runs/sparse/prepared && tff-course train "
             f"runs/sparse/prepared/{RUN_CONFIG} --out runs/sparse/fedavg")
  prepare.add_argument("--pretrained", choices=tuple(RUN_MODELS), default=defaults.pretrained,
                       help=f"the published backbone (default: {defaults.pretrained})")
  prepare.add_argument("--weights", help="its checkpoint file (default: DATA_DIR/weights/..., "
                                         "else the published download)")
  prepare.add_argument("--dataset", default=defaults.dataset,
                       help=f"the new task (default: {defaults.dataset})")
  prepare.add_argument("--head", choices=HEAD_METHODS, default=defaults.head,
                       help="ridge: closed form on one-hot targets; train: a softmax layer "
                            f"trained on the features (default: {defaults.head})")
  prepare.add_argument("--head-examples", type=int, default=defaults.head_examples,
                       help=f"training examples the head is fitted on (default: "
                            f"{defaults.head_examples})")
  prepare.add_argument("--density", type=float, default=defaults.density,
                       help=f"fraction of the eligible weights that may be updated, in "
                            f"(0, 1] (default: {defaults.density})")
  prepare.add_argument("--calibration-rounds", type=int, default=defaults.rounds,
                       help=f"rounds from density 1 to the target (default: {defaults.rounds})")
  prepare.add_argument("--rule", choices=RULES, default=defaults.rule,
                       help=f"which weights stay updatable (default: {defaults.rule}, TaLoS)")
  prepare.add_argument("--scope", choices=SCOPES, default=defaults.scope,
                       help=f"one threshold for all layers, or each layer its own share "
                            f"(default: {defaults.scope})")
  prepare.add_argument("--no-norms", action="store_true",
                       help="normalization layers are not eligible (frozen)")
  prepare.add_argument("--no-biases", action="store_true", help="biases are not eligible")
  prepare.add_argument("--calibration-examples", type=int,
                       default=defaults.calibration_examples,
                       help=f"examples the Fisher scores are computed on (default: "
                            f"{defaults.calibration_examples})")
  prepare.add_argument("--targets", choices=TARGETS, default=defaults.targets,
                       help="y drawn from the model (the Fisher) or the label (empirical)")
  prepare.add_argument("--objective", choices=OBJECTIVES, default=defaults.objective,
                       help="log_prob: log p(y|x); logit: the class's logit, as TaLoS's code")
  prepare.add_argument("--federated-clients", type=int, default=0, metavar="K",
                       help="calibrate on K clients' data, their Fisher scores summed by "
                            "a TFF aggregator (default 0: central)")
  prepare.add_argument("--partition", default="iid",
                       help="how the clients' data is split for --federated-clients "
                            "(iid, classes, dirichlet; default iid)")
  prepare.add_argument("--classes-per-client", type=int, help="for --partition classes")
  prepare.add_argument("--alpha", type=float, help="for --partition dirichlet")
  prepare.add_argument("--seed", type=int, default=defaults.seed)
  prepare.add_argument("--limit", type=int, metavar="N",
                       help="use at most N examples of each split, the run config too (a "
                            "quick try; default: all)")
  add_out(prepare, "the folder to write (default: runs/sparse-prepared)",
          default=os.path.join("runs", "sparse-prepared"))
  add_data_dir(prepare)
  prepare.add_argument("--no-progress", action="store_true", help="no progress bars")
  prepare.set_defaults(handler=_prepare)


def _prepare(args) -> int:
  from tff_course.atomic import write_text
  from tff_course.experiment.presets import sparse_fedavg_config
  from tff_course.sparse.prepare import PrepareSettings, prepare

  settings = PrepareSettings(
      pretrained=args.pretrained, dataset=args.dataset, head=args.head,
      head_examples=args.head_examples, density=args.density,
      rounds=args.calibration_rounds, rule=args.rule, scope=args.scope,
      norms=not args.no_norms, biases=not args.no_biases,
      calibration_examples=args.calibration_examples, targets=args.targets,
      objective=args.objective, seed=args.seed, limit=args.limit)
  clients = _client_indices(args) if args.federated_clients else None
  summary = prepare(settings, args.out, data_dir=args.data_dir, weights=args.weights,
                    client_indices=clients, progress=not args.no_progress)
  config_path = os.path.join(args.out, RUN_CONFIG)
  write_text(config_path, sparse_fedavg_config(summary, args.out, args.data_dir).to_json())
  densities = ", ".join(f"{row['density']:.3f}" for row in summary["rounds"])
  print(f"head on frozen features: {summary['head_test_accuracy']:.2%} test accuracy "
        f"({summary['test_examples']:,} images)\n"
        f"masks ({summary['calibration']}): kept fraction per round {densities}\n"
        f"wrote {args.out}: init.weights.h5, masks.npz, prepare.json, mask-density.png, "
        f"{RUN_CONFIG}\n"
        f"next: tff-course train {config_path} --out runs/sparse-fedavg", file=sys.stdout)
  return 0


def _client_indices(args):
  from tff_course.data import load_dataset
  from tff_course.errors import ConfigError
  from tff_course.partition import make_partition

  if args.federated_clients < 1:
    raise ConfigError(f"--federated-clients: got {args.federated_clients}, expected a whole "
                      f"number >= 1 (or 0 for central calibration)")
  train = load_dataset(args.dataset, data_dir=args.data_dir, limit=args.limit).train
  partition = make_partition(args.partition, train, num_clients=args.federated_clients,
                             classes_per_client=args.classes_per_client, alpha=args.alpha,
                             seed=args.seed)
  return [indices for _, indices in partition.items() if len(indices)]
