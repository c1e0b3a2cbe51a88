"""The ``mammo`` command line.

Each module in :mod:`mammo_lib.commands` that defines ``register(subparsers)`` adds one
subcommand; ``register`` must call ``subparsers.add_parser`` and set ``func`` with
``set_defaults(func=...)``, a callable taking the parsed namespace and returning an exit code.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from mammo_lib import __version__, commands


def build_parser() -> argparse.ArgumentParser:
    """Return the top-level parser with every discovered subcommand."""
    parser = argparse.ArgumentParser(
        prog="mammo",
        description="ConvNets for mammograms: fetch data, build datasets, train, evaluate.",
    )
    parser.add_argument("--version", action="version", version=f"mammo {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        if hasattr(module, "register"):
            module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    return int(args.func(args) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
