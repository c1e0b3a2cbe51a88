"""``mammo fetch``: list, download and verify the registry's data sets."""

from __future__ import annotations

import argparse
import sys

from mammo_lib.sources.registry import (
    DATASETS,
    DataUnavailableError,
    HashMismatchError,
    UnsafeArchiveError,
    fetch,
)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``fetch`` subcommand."""
    parser = subparsers.add_parser(
        "fetch",
        help="download and verify data sets (UCI, MIAS, CBIS-DDSM tables)",
        description="Download (or copy from MAMMO_DATA_MIRROR) and verify registry data sets.",
    )
    parser.add_argument("names", nargs="*", metavar="NAME", help="data set names, or 'all'")
    parser.add_argument(
        "--list", action="store_true", help="list data sets with licence and citation"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """List or fetch data sets; return 1 when any could not be had."""
    if not args.list and not args.names:
        print(
            f"mammo fetch: give data set names or 'all' (known: {', '.join(DATASETS)}); "
            "--list describes them",
            file=sys.stderr,
        )
        return 2
    if args.list:
        for dataset in DATASETS.values():
            print(f"{dataset.name}\n  {dataset.title}\n  licence: {dataset.licence}")
            print(f"  citation: {dataset.citation}")
            for remote in dataset.files:
                print(f"  file: {remote.name} <{remote.url}>")
        return 0
    names = list(DATASETS) if args.names == ["all"] else args.names
    unknown = [n for n in names if n not in DATASETS]
    if unknown:
        print(
            f"mammo fetch: unknown data set(s): {', '.join(unknown)}; known: {', '.join(DATASETS)}",
            file=sys.stderr,
        )
        return 2
    failed = 0
    for name in names:
        try:
            print(f"{name}: {fetch(name)}")
        except (DataUnavailableError, HashMismatchError, UnsafeArchiveError, OSError) as err:
            print(f"mammo fetch: {name}: {' '.join(str(err).split())}", file=sys.stderr)
            failed += 1
    return 1 if failed else 0
