"""``mammo synth``: write a synthetic CBIS-DDSM download and DDSM normals."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mammo_lib.commands._types import bounded_float, bounded_int
from mammo_lib.sources.synthetic import DEFAULT_DIFFICULTY, generate


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``synth`` subcommand."""
    parser = subparsers.add_parser(
        "synth",
        help="write synthetic CBIS-DDSM and DDSM-normal stand-ins in the real formats",
        description=(
            "Write OUT/cbis-ddsm (NBIA Data Retriever tree of DICOMs, metadata.csv, the four "
            "case-description CSVs) and OUT/ddsm (normal cases: .ics + .LJPEG), plus ground "
            "truth CSVs in OUT."
        ),
    )
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument(
        "--cases", type=bounded_int(1), required=True, help="number of CBIS full scans"
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument(
        "--size",
        choices=("full", "small"),
        default="full",
        help="full (~5300x3100) or small (a third per side); default full",
    )
    parser.add_argument(
        "--difficulty",
        type=bounded_float(0.0, 1.0),
        default=DEFAULT_DIFFICULTY,
        help=f"lesion difficulty 0..1 (default {DEFAULT_DIFFICULTY})",
    )
    parser.add_argument(
        "--normals",
        type=bounded_int(1),
        default=None,
        help="number of DDSM normal cases (default: cases/4, at least 1)",
    )
    parser.add_argument(
        "--workers",
        type=bounded_int(1),
        default=1,
        help="processes rendering in parallel (files do not depend on it)",
    )
    parser.add_argument("--overwrite", action="store_true", help="replace an existing tree in OUT")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Generate the tree and print a one-line summary; return 0 (2 on bad arguments)."""
    if args.out.exists() and not args.out.is_dir():
        print(f"mammo synth: --out {args.out}: exists and is not a folder", file=sys.stderr)
        return 2
    try:
        tree = generate(
            args.out,
            args.cases,
            seed=args.seed,
            size=args.size,
            difficulty=args.difficulty,
            normals=args.normals,
            progress=True,
            workers=args.workers,
            overwrite=args.overwrite,
        )
    except (ValueError, FileExistsError) as exc:
        print(f"mammo synth: {exc}", file=sys.stderr)
        return 2
    print(
        f"wrote {len(tree.scans)} CBIS scans ({len(tree.lesions)} abnormalities) to "
        f"{tree.cbis_root} and {len(tree.normals) // 4} DDSM normal cases "
        f"({len(tree.normals)} views) to {tree.ddsm_root}"
    )
    return 0
