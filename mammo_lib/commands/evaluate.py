"""``mammo evaluate``: dataset-level metrics with patient-bootstrap intervals (chapter 07).

Three modes:

* ``--run RUN --dataset DIR [--split test --split mias]``: predict every tile of the splits
  with the run's best checkpoint, write one CSV row per tile, print the metrics;
* ``--predictions CSV``: recompute the metrics from a predictions CSV already written;
* ``--mias-cv``: the real-MIAS normal/abnormal result, cross-validated by patient;
* ``--shortcut --dataset DIR``: the shortcut test on a dataset's tiles.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from mammo_lib.commands._types import bounded_int, probability


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``evaluate`` subcommand."""
    parser = subparsers.add_parser(
        "evaluate",
        help="metrics with patient-bootstrap intervals; predictions CSV; MIAS CV; shortcut test",
        description=(
            "Evaluate a trained run on dataset splits (one CSV row per tile is written), "
            "recompute metrics from a predictions CSV, cross-validate on the real MIAS by "
            "patient, or run the shortcut test (image statistics only) on a dataset."
        ),
    )
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--run", type=Path, help="run folder with best.keras")
    mode.add_argument("--predictions", type=Path, help="predictions CSV to score")
    mode.add_argument("--mias-cv", action="store_true", help="patient-level CV on real MIAS")
    mode.add_argument("--shortcut", action="store_true", help="shortcut test on --dataset")
    parser.add_argument("--dataset", type=Path, help="dataset folder (TFRecord shards)")
    parser.add_argument(
        "--split", action="append", help="split(s) to evaluate (default: test; repeatable)"
    )
    parser.add_argument(
        "--task",
        choices=("binary", "multiclass"),
        default=None,
        help="metrics to report (default: from the number of probability columns)",
    )
    parser.add_argument(
        "--threshold", type=probability, default=0.5, help="decision threshold in [0, 1]"
    )
    parser.add_argument(
        "--n-boot", type=bounded_int(1), default=1000, help="bootstrap replicates (at least 1)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--method", choices=("convnet", "statistics"), default="convnet", help="for --mias-cv"
    )
    parser.add_argument(
        "--epochs", type=bounded_int(1), default=20, help="ConvNet epochs for --mias-cv"
    )
    parser.add_argument(
        "--folds", type=bounded_int(2), default=5, help="CV folds (--mias-cv, --shortcut)"
    )
    parser.add_argument("--out", type=Path, help="folder for CSV outputs")
    parser.set_defaults(func=run)


def _score(pred: pd.DataFrame, args: argparse.Namespace, where: object) -> pd.DataFrame:
    from mammo_lib.evaluate.predictions import check_predictions
    from mammo_lib.evaluate.results import binary_row, multiclass_row

    n_proba = sum(1 for c in pred.columns if c[:1] == "p" and c[1:].isdigit())
    task = args.task or ("multiclass" if n_proba == 5 else "binary")
    check_predictions(pred, where, task)
    if task == "multiclass":
        row = multiclass_row(pred, n_boot=args.n_boot, seed=args.seed)
    else:
        row = binary_row(pred, threshold=args.threshold, n_boot=args.n_boot, seed=args.seed)
    return pd.DataFrame([row])


def _print(title: str, table: pd.DataFrame) -> None:
    print(f"== {title}")
    print(table.T.to_string(header=False, float_format=lambda v: f"{v:.4f}"))


def run(args: argparse.Namespace) -> int:
    """Run one evaluation mode; return the exit code."""
    if args.dataset is not None and not args.mias_cv:
        from mammo_lib.dataset.folder import open_dataset

        open_dataset(args.dataset)  # checked against its manifest before TensorFlow loads
    from mammo_lib.evaluate.predictions import read_predictions, write_predictions

    if args.predictions is not None:
        if not args.predictions.is_file():
            print(f"mammo evaluate: {args.predictions}: no such file", file=sys.stderr)
            return 2
        table = read_predictions(args.predictions)
        _print(str(args.predictions), _score(table, args, args.predictions))
        return 0
    if args.run is not None:
        if args.dataset is None:
            print("mammo evaluate: --run needs --dataset", file=sys.stderr)
            return 2
        from mammo_lib.evaluate.predictions import predict_tiles, scan_predictions
        from mammo_lib.evaluate.results import evaluation_dir

        for split in args.split or ["test"]:
            pred = predict_tiles(args.run / "best.keras", args.dataset, split)
            out = (args.out or evaluation_dir(args.run)) / f"{split}.csv"
            write_predictions(pred, out)
            scans = scan_predictions(pred)
            write_predictions(scans, out.with_name(f"{split}-scans.csv"))
            print(f"wrote {out} ({len(pred)} tiles) and {split}-scans.csv ({len(scans)} scans)")
            _print(f"{args.run.name} on {split}", _score(pred, args, out))
        return 0
    if args.mias_cv:
        import dataclasses

        from mammo_lib.dataset.mias_tiles import ensure_mias_tiles
        from mammo_lib.evaluate.mias_cv import cross_validate_mias
        from mammo_lib.train.mias_detector import MiasRecipe

        default = MiasRecipe()
        tiles = dataclasses.replace(default.tiles, seed=args.seed)
        recipe = dataclasses.replace(default, tiles=tiles, epochs=args.epochs, seed=args.seed)
        data = ensure_mias_tiles(recipe.tiles)
        pred = cross_validate_mias(
            data, args.method, n_splits=args.folds, seed=args.seed, recipe=recipe
        )
        if args.out is not None:
            out = write_predictions(pred, args.out / f"mias-cv-{args.method}.csv")
            print(f"wrote {out} ({len(pred)} tiles)")
        _print(f"MIAS patient-level CV ({args.method})", _score(pred, args, "MIAS CV"))
        return 0
    if args.dataset is None:
        print("mammo evaluate: --shortcut needs --dataset", file=sys.stderr)
        return 2
    from mammo_lib.evaluate.results import dataset_shortcut_test

    splits = args.split or ["train", "val", "test"]
    result, meta = dataset_shortcut_test(
        args.dataset, splits, n_splits=args.folds, seed=args.seed, n_boot=args.n_boot
    )
    if args.out is not None:
        out = write_predictions(meta, args.out / "shortcut.csv")
        print(f"wrote {out} ({len(meta)} tiles)")
    print(f"shortcut test AUC ({result.classifier}, {result.n_splits} folds): {result.auc}")
    print("most separating statistics:")
    print(result.feature_auc.head(5).to_string(float_format=lambda v: f"{v:.3f}"))
    return 0
