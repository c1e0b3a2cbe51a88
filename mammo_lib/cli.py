"""The ``mammo`` command line.

Each module in :mod:`mammo_lib.commands` that defines ``register(subparsers)`` adds one
subcommand; ``register`` must call ``subparsers.add_parser`` and set ``func`` with
``set_defaults(func=...)``, a callable taking the parsed namespace and returning an exit code.

Exit codes: 0 done, 1 the work failed (a bad file, a failed check), 2 bad usage (argparse's
own errors and a command's refusal of its arguments). A failure is reported as one line,
``mammo COMMAND: <file>: <problem>``; ``--debug`` or ``MAMMO_DEBUG=1`` shows the traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
from typing import NoReturn

from mammo_lib import __version__, commands
from mammo_lib.imaging.errors import ImageReadError

#: Error families reported as one line (exit 1): every project error derives from one of
#: them (``HashMismatchError``, ``CorruptShardError``, ``DatasetFolderError``, ...). Anything
#: else is a bug and keeps its traceback.
REPORTED: tuple[type[BaseException], ...] = (
    OSError,
    ValueError,
    RuntimeError,
    FloatingPointError,
    ImageReadError,
)


def one_line(error: BaseException) -> str:
    """The error's message on one line (its type when the message is empty)."""
    text = " ".join(str(error).split())
    return text or type(error).__name__


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line (exit 2); subparsers inherit it."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """Return the top-level parser with every discovered subcommand."""
    parser = _Parser(
        prog="mammo",
        description="ConvNets for mammograms: fetch data, build datasets, train, evaluate.",
    )
    parser.add_argument("--version", action="version", version=f"mammo {__version__}")
    parser.add_argument(
        "--debug",
        action="store_true",
        help="show the full traceback of a failure (also MAMMO_DEBUG=1)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        if hasattr(module, "register"):
            module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv  # accepted before or after the subcommand
    parser = build_parser()
    args = parser.parse_args([a for a in argv if a != "--debug"])
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    debug = debug or os.environ.get("MAMMO_DEBUG", "") not in ("", "0")
    try:
        return int(args.func(args) or 0)
    except REPORTED as error:
        if debug:
            raise
        print(f"mammo {args.command}: {one_line(error)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"mammo {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
