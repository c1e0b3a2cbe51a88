"""``mammo book``: execute the chapters under a parameter profile and render the book."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from mammo_lib.config import DEFAULT_PROFILE, PROFILES, REPO_ROOT


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``book`` subcommand."""
    parser = subparsers.add_parser(
        "book",
        help="execute the notebooks with papermill and render the Jupyter Book",
        description="Execute every chapter with a parameter profile, then render HTML (-W).",
    )
    parser.add_argument("--profile", default=DEFAULT_PROFILE, choices=PROFILES)
    parser.add_argument("--only", nargs="+", metavar="NN", help="run only these chapters")
    parser.add_argument("--force", action="store_true", help="re-execute unchanged notebooks")
    parser.add_argument(
        "--params",
        type=Path,
        action="append",
        default=[],
        metavar="FILE",
        help="YAML file of parameters over the profile's: chapter sections like params/*.yaml, "
        "or global keys (e.g. cbis_root: ~/CBIS-DDSM) set in every chapter that declares them; "
        "may be repeated",
    )
    parser.add_argument(
        "--set",
        dest="sets",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="one parameter, after --params: 06_training.epochs=5 (one chapter, by stem or "
        "number) or ddsm_root=~/DDSM (every chapter declaring it); VALUE is YAML",
    )
    parser.add_argument("--root", type=Path, default=REPO_ROOT, help="repository root")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Build the book; print where index.html is."""
    from mammo_lib.book import build_book, parse_set

    if args.root is None:
        print("mammo book runs from a checkout of the repository (pass --root)", file=sys.stderr)
        return 2
    start = time.perf_counter()
    try:
        index = build_book(
            args.root.resolve(),
            args.profile,
            only=args.only,
            force=args.force,
            params_files=args.params,
            sets=parse_set(args.sets),
        )
    except (RuntimeError, ValueError, FileNotFoundError) as err:
        print(f"mammo book: {err}", file=sys.stderr)
        return 1
    print(f"Book built in {time.perf_counter() - start:.0f} s: {index}")
    return 0
