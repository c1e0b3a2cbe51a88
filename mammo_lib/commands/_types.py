"""Argument types for the subcommands: numbers in their ranges, safe names.

Each is a callable for ``argparse``'s ``type=``; a bad value raises
:class:`argparse.ArgumentTypeError`, which argparse turns into a one-line usage error (exit 2).
"""

from __future__ import annotations

import argparse
import math
import re
from collections.abc import Callable

__all__ = ["bounded_float", "bounded_int", "probability", "run_name"]


def bounded_int(low: int | None = None, high: int | None = None) -> Callable[[str], int]:
    """An integer type accepting ``low <= value <= high`` (either bound may be None)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if (low is not None and value < low) or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"{value} is outside {_range(low, high)}")
        return value

    parse.__name__ = "integer"
    return parse


def bounded_float(
    low: float | None = None,
    high: float | None = None,
    *,
    low_open: bool = False,
    high_open: bool = False,
) -> Callable[[str], float]:
    """A finite float type accepting ``low <= value <= high``; `low_open` / `high_open`
    exclude the bound itself."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
        too_low = low is not None and (value <= low if low_open else value < low)
        too_high = high is not None and (value >= high if high_open else value > high)
        if too_low or too_high:
            raise argparse.ArgumentTypeError(
                f"{value:g} is outside {_range(low, high, low_open, high_open)}"
            )
        return value

    parse.__name__ = "number"
    return parse


def _range(
    low: float | None, high: float | None, low_open: bool = False, high_open: bool = False
) -> str:
    left = "(" if low_open or low is None else "["
    right = ")" if high_open or high is None else "]"
    return f"{left}{'-inf' if low is None else low}, {'inf' if high is None else high}{right}"


#: A probability or threshold in [0, 1].
probability = bounded_float(0.0, 1.0)

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def run_name(text: str) -> str:
    """A folder name without separators or ``..``, so the run stays inside ``runs/``."""
    if not _NAME.match(text) or text in (".", ".."):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a plain folder name (letters, digits, '.', '_', '-'; no '/' or "
            "'..'); runs are written to MAMMO_WORK_DIR/runs/NAME"
        )
    return text
