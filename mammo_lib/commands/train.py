"""``mammo train``: train one of the study's ConvNets on a TFRecord dataset (chapter 06)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import yaml

from mammo_lib.commands._types import bounded_float, bounded_int, run_name


def _key_value(text: str) -> tuple[str, Any]:
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    key, value = text.split("=", 1)
    return key, yaml.safe_load(value)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``train`` subcommand."""
    parser = subparsers.add_parser(
        "train",
        help="train a ConvNet (vgg_lite, vgg16_study, inception_v4_study ...) on TFRecords",
        description=(
            "Train a registered model on a dataset folder (train-*.tfrecord, val-*.tfrecord) "
            "or on a dataset recipe built on demand. The run folder (config, checkpoints, "
            "log.csv, TensorBoard logs) goes to MAMMO_WORK_DIR/runs/<name>; an interrupted "
            "run resumes, a finished one is reused."
        ),
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--dataset", type=Path, help="dataset folder with TFRecord shards")
    source.add_argument(
        "--recipe", help="dataset recipe to build (or reuse) first on a synthetic scan tree"
    )
    parser.add_argument(
        "--synthetic-cases",
        type=bounded_int(1),
        default=24,
        help="with --recipe: synthetic CBIS scans",
    )
    parser.add_argument("--scan-size", choices=("small", "full"), default="small")
    parser.add_argument(
        "--val-fraction",
        type=bounded_float(0.0, 1.0, low_open=True, high_open=True),
        default=0.2,
        help="with --recipe: validation patients, in (0, 1)",
    )
    parser.add_argument("--model", default="vgg_lite", help="registered model name")
    parser.add_argument(
        "--labels",
        choices=("binary", "multiclass"),
        default="binary",
        help="normal/abnormal (2 classes) or the study's 5 classes",
    )
    parser.add_argument(
        "--image-size", type=bounded_int(8), default=299, help="tile side in pixels"
    )
    parser.add_argument("--epochs", type=bounded_int(1), default=30)
    parser.add_argument("--batch-size", type=bounded_int(1), default=32)
    parser.add_argument(
        "--pos-weight",
        type=bounded_float(0.0, low_open=True),
        default=6.0,
        help="W for abnormal examples",
    )
    parser.add_argument(
        "--learning-rate", type=bounded_float(0.0, 1.0, low_open=True), default=1e-3
    )
    parser.add_argument(
        "--decay-epochs",
        type=bounded_int(1),
        default=None,
        help="epochs between x0.8 learning-rate decays (default: the study's for the model: "
        "10 for vgg16_study, else 5)",
    )
    parser.add_argument("--scaling", choices=("raw", "unit", "centred"), default="unit")
    parser.add_argument(
        "--contrast", type=bounded_float(0.0, low_open=True), default=None, help="contrast factor"
    )
    parser.add_argument(
        "--augment",
        choices=("dihedral", "flips", "none"),
        default="dihedral",
        help="online augmentation: flips and 90-degree rotations (default), flips only (the "
        "study's when on), or none (the study's headline run)",
    )
    parser.add_argument("--no-augment", action="store_true", help="same as --augment none")
    parser.add_argument(
        "--init-from",
        metavar="RUN",
        help="run folder (or .keras file) whose convolutions initialise this run's",
    )
    parser.add_argument(
        "--freeze-conv",
        action="store_true",
        help="with --init-from: keep the convolutions fixed, train the head only",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--strategy", choices=("default", "mirrored", "multi_worker"), default="default"
    )
    parser.add_argument(
        "--mixed-precision",
        nargs="?",
        const="float16",
        choices=("float16", "bfloat16"),
        help="train with mixed precision, float16 (the default when given bare) or bfloat16 (GPU)",
    )
    parser.add_argument(
        "--model-kw",
        type=_key_value,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="model builder option, e.g. width=0.5 or repeats=[1,1,1] (repeatable)",
    )
    parser.add_argument(
        "--name", type=run_name, help="run folder name under runs/ (default: model-confighash)"
    )
    parser.add_argument(
        "--log-every", type=bounded_int(1), default=50, help="TensorBoard every N steps"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Train (or resume, or reuse) a run; print its folder and last epoch's metrics."""
    if args.dataset is not None:
        from mammo_lib.dataset.folder import open_dataset

        open_dataset(args.dataset)  # checked against its manifest before TensorFlow loads
    from mammo_lib.dataset.tfrecord import CorruptShardError
    from mammo_lib.train import TrainingDivergedError, train
    from mammo_lib.train.study import StudyRun

    # the book's study run (chapters 06-08) with this command's knobs; the model's options
    # are the builder's defaults unless --model-kw sets them
    study = StudyRun(
        seed=args.seed,
        dataset_dir=args.dataset,
        recipe=args.recipe if args.recipe is not None else StudyRun.recipe,
        synthetic_cases=args.synthetic_cases,
        scan_size=args.scan_size,
        val_fraction=args.val_fraction,
        model_name=args.model,
        labels=args.labels,
        image_size=args.image_size,
        epochs=args.epochs,
        batch_size=args.batch_size,
        pos_weight=args.pos_weight,
        model_width=None,
        bn_momentum=None,
        mixed_precision=f"mixed_{args.mixed_precision}" if args.mixed_precision else False,
        augment="none" if args.no_augment else args.augment,
    )
    changes: dict[str, Any] = {
        "learning_rate": args.learning_rate,
        "scaling": args.scaling,
        "contrast": args.contrast,
        "init_from": args.init_from,
        "freeze_conv": args.freeze_conv,
        "strategy": args.strategy,
        "model_kwargs": {**study.model_kwargs, **dict(args.model_kw)},
        "name": args.name,
        "log_every": args.log_every,
        "verbose": 2,
    }
    if args.decay_epochs is not None:
        changes["decay_epochs"] = args.decay_epochs
    config = study.train_config(**changes)
    try:
        result = train(config)
    except (TrainingDivergedError, CorruptShardError, FileNotFoundError, ValueError) as error:
        print(f"mammo train: {error}", file=sys.stderr)
        return 1
    print(f"run: {result.run_dir}")
    print(f"status: {result.status}, epochs: {result.epochs_done}")
    if not result.history.empty:
        last = result.history.iloc[-1]
        shown = ["loss", "accuracy", "recall", "val_loss", "val_accuracy", "val_recall"]
        print("  ".join(f"{k}={last[k]:.4f}" for k in shown if k in last))
    return 0
