"""Records of bad input: a report of skipped files.

Every reader in the project either raises a clear error naming the file (for pixels:
:class:`mammo_lib.imaging.errors.ImageReadError`), or skips the input and
records why in a :class:`SkipReport` that the caller can inspect, print or save. Nothing is
dropped silently.

Examples
--------
>>> report = SkipReport()
>>> report.add("cases/normals/normal_01/case0002/A_0002_1.LEFT_CC.LJPEG", "truncated stream")
>>> len(report)
1
>>> report.to_frame().columns.tolist()
['path', 'reason']
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import pandas as pd

from mammo_lib.io import atomic_open

__all__ = ["SkipEntry", "SkipReport"]


class SkipEntry(NamedTuple):
    """One skipped or suspicious input: the file (or CSV path) and why."""

    path: str
    reason: str


@dataclass
class SkipReport:
    """An ordered record of inputs that were skipped or flagged, as ``(path, reason)`` entries.

    Attributes
    ----------
    entries
        The entries in the order they were added.
    """

    entries: list[SkipEntry] = field(default_factory=list)

    def add(self, path: str | os.PathLike[str], reason: str) -> None:
        """Record that `path` was skipped (or flagged) because of `reason`."""
        self.entries.append(SkipEntry(str(path), reason))

    def extend(self, other: SkipReport | Iterable[tuple[str, str]]) -> None:
        """Append the entries of another report (or of any ``(path, reason)`` pairs)."""
        for path, reason in other:
            self.add(path, reason)

    def __iter__(self) -> Iterator[SkipEntry]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def reasons(self) -> pd.Series:
        """Return how many entries carry each reason (most frequent first)."""
        return self.to_frame()["reason"].value_counts()

    def to_frame(self) -> pd.DataFrame:
        """Return the entries as a DataFrame with columns ``path`` and ``reason``."""
        return pd.DataFrame(self.entries, columns=["path", "reason"], dtype=object)

    def write_csv(self, path: str | os.PathLike[str]) -> Path:
        """Write the entries to a CSV file atomically (temporary name, then rename).

        Returns
        -------
        Path
            The written file.
        """
        target = Path(path)
        with atomic_open(target, "w", newline="") as handle:
            self.to_frame().to_csv(handle, index=False)
        return target

    def __str__(self) -> str:
        if not self.entries:
            return "SkipReport: nothing skipped"
        lines = [f"SkipReport: {len(self.entries)} entries"]
        lines += [f"  {e.path}: {e.reason}" for e in self.entries[:20]]
        if len(self.entries) > 20:
            lines.append(f"  ... and {len(self.entries) - 20} more")
        return "\n".join(lines)
