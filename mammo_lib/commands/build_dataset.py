"""``mammo build-dataset``: cut tiles from scans and write a recipe's TFRecord shards."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from mammo_lib.commands._types import bounded_float, bounded_int


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``build-dataset`` subcommand."""
    from mammo_lib.dataset.recipes import RECIPES

    parser = subparsers.add_parser(
        "build-dataset",
        help="build a dataset recipe (6, 8, 9, 9-background) into TFRecord shards",
        description=(
            "Extract ROI crops and normal tiles from CBIS-DDSM, DDSM normals and MIAS, split by "
            "patient, balance and write TFRecord shards, records.csv and manifest.json. Give "
            "either --synthetic-cases (a cached synthetic tree) or your own --cbis-root and "
            "--ddsm-root. "
            "A finished build with the same recipe, inputs and seed is reused."
        ),
    )
    parser.add_argument("--recipe", required=True, choices=sorted(RECIPES), help="dataset recipe")
    parser.add_argument("--seed", type=int, default=0, help="global seed (default 0)")
    source = parser.add_argument_group("inputs")
    source.add_argument(
        "--synthetic-cases", type=bounded_int(1), help="use a synthetic tree of N CBIS scans"
    )
    source.add_argument(
        "--scan-size",
        choices=("full", "small"),
        default="small",
        help="synthetic scan size (default small)",
    )
    source.add_argument("--cbis-root", type=Path, help="CBIS-DDSM download folder (NBIA layout)")
    source.add_argument(
        "--cbis-tables",
        type=Path,
        help="folder with the four case CSVs (default: fetched by the registry)",
    )
    source.add_argument(
        "--cbis-spacing-mm",
        type=bounded_float(0.0, 1.0, low_open=True),
        help="pixel spacing of the --cbis-root scans in mm (recorded in the manifest; "
        "CBIS-DDSM's DICOMs state none)",
    )
    source.add_argument("--ddsm-root", type=Path, help="DDSM folder holding cases/normals")
    source.add_argument(
        "--mias", type=Path, default=None, help="MIAS folder (default: fetched by the registry)"
    )
    source.add_argument("--no-mias", action="store_true", help="leave out the MIAS split")
    source.add_argument(
        "--mias-images",
        type=bounded_int(1, 322),
        help="use only the first N MIAS images (1..322; default all)",
    )
    geometry = parser.add_argument_group("recipe overrides")
    geometry.add_argument("--tile-size", type=bounded_int(8), help="stored tile side (default 299)")
    geometry.add_argument(
        "--crop-size", type=bounded_int(8), help="crop side in scan pixels (default 598)"
    )
    geometry.add_argument(
        "--normal-fraction",
        type=bounded_float(0.0, 1.0, low_open=True, high_open=True),
        help="share of normal tiles, in (0, 1) (0.83)",
    )
    geometry.add_argument(
        "--max-normal-tiles-per-scan", type=bounded_int(0), help="cap per normal scan"
    )
    parser.add_argument(
        "--scheduler",
        default=None,
        help="'threads' (default), 'sync', 'processes', 'local:N' (a dask.distributed cluster "
        "of N worker processes) or the address of a running scheduler such as "
        "tcp://10.0.0.5:8786",
    )
    parser.add_argument("--out-root", type=Path, help="parent folder (default WORK_DIR/datasets)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Build the dataset, print its folder and per-split counts; return 0 (2 on bad arguments)."""
    from mammo_lib.dataset.build import build_dataset, ensure_dataset
    from mammo_lib.dataset.folder import load_manifest
    from mammo_lib.dataset.plan import DatasetInputs
    from mammo_lib.dataset.recipes import get_recipe

    overrides = {
        "normal_fraction": args.normal_fraction,
        "max_normal_tiles_per_scan": args.max_normal_tiles_per_scan,
    }
    common = {
        "seed": args.seed,
        "scheduler": args.scheduler,
        "progress": not args.quiet,
        "out_root": args.out_root,
    }
    if args.synthetic_cases is not None:
        if args.cbis_root or args.ddsm_root:
            print(
                "mammo build-dataset: give either --synthetic-cases or --cbis-root/--ddsm-root, "
                "not both",
                file=sys.stderr,
            )
            return 2
        folder = ensure_dataset(
            args.recipe,
            synthetic_cases=args.synthetic_cases,
            scan_size=args.scan_size,
            tile_size=args.tile_size,
            crop_size=args.crop_size,
            include_mias=not args.no_mias,
            mias_images=args.mias_images,
            **common,
            **overrides,
        )
    else:
        if args.cbis_root is None and args.ddsm_root is None and args.no_mias:
            print(
                "mammo build-dataset: no inputs: give --synthetic-cases, --cbis-root, "
                "--ddsm-root or MIAS",
                file=sys.stderr,
            )
            return 2
        for option, folder in (("--cbis-root", args.cbis_root), ("--ddsm-root", args.ddsm_root)):
            if folder is not None and not folder.is_dir():
                print(f"mammo build-dataset: {option} {folder}: no such folder", file=sys.stderr)
                return 2
        from mammo_lib.sources.registry import fetch

        mias = None if args.no_mias else (args.mias or fetch("mias"))
        refnums = None
        if mias is not None and args.mias_images is not None:
            refnums = tuple(f"mdb{i:03d}" for i in range(1, args.mias_images + 1))
        inputs = DatasetInputs(
            cbis_root=args.cbis_root,
            cbis_tables=args.cbis_tables or (fetch("cbis-ddsm-tables") if args.cbis_root else None),
            ddsm_root=args.ddsm_root,
            mias_folder=mias,
            mias_refnums=refnums,
            cbis_spacing_mm=args.cbis_spacing_mm,
        )
        recipe = get_recipe(
            args.recipe,
            tile_size=args.tile_size,
            crop_size=args.crop_size,
            include_mias=not args.no_mias,
            **overrides,
        )
        folder = build_dataset(recipe, inputs, **common)
    manifest = load_manifest(folder)
    print(folder)
    for split, info in manifest["splits"].items():
        print(
            f"{split:>6}: {info['records']} tiles, {info['normal']} normal, "
            f"{info['abnormal']} abnormal, {info['patients']} patients"
        )
    skipped = manifest["skipped_by_reason"]
    print("skipped:", json.dumps(skipped) if skipped else "nothing")
    return 0
