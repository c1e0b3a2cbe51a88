"""The error every pixel reader raises for a file it cannot read."""

from __future__ import annotations

import os

__all__ = ["ImageReadError"]


class ImageReadError(Exception):
    """An image file could not be read: truncated, corrupt, or without pixel data.

    Parameters
    ----------
    path
        The file that failed.
    reason
        What is wrong with it, in words.
    """

    def __init__(self, path: str | os.PathLike[str], reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")
