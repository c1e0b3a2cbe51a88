"""Atomic file writes: a file appears whole under its name, or not at all.

Every writer puts its bytes under a temporary name in the destination's folder (so the final
rename stays on one file system), flushes them to disk (``fsync``), renames the file into
place with :func:`os.replace` and syncs the folder; on any failure, an interrupt included, it
removes the temporary file and re-raises. A reader therefore never sees a half-written file,
and a failed write leaves nothing behind (an existing file keeps its old content).

:func:`atomic_path` serves libraries that write to a file name themselves (Keras, PIL,
pandas, ``np.save``, TFRecord writers): the temporary name keeps the destination's suffix, so
format sniffing by extension still works.

Examples
--------
>>> from pathlib import Path
>>> import tempfile
>>> out = Path(tempfile.mkdtemp()) / "a.json"
>>> write_json(out, {"b": 1}).read_text()
'{\\n  "b": 1\\n}\\n'
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

__all__ = ["atomic_open", "atomic_path", "write_bytes", "write_json", "write_text"]


def _fsync_file(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def _fsync_dir(folder: Path) -> None:
    """Make a rename in `folder` durable (POSIX; a no-op where folders cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path next to `path`; on success it replaces `path`.

    The temporary name is ``.<stem>.<random>.tmp<suffix>`` in the same folder (created when
    missing). After the block, the file is synced and renamed to `path`; if the block raises,
    the temporary file (or folder, should a library have made one) is removed.

    Parameters
    ----------
    path
        The destination.

    Yields
    ------
    pathlib.Path
        Where to write. It exists (empty) when the block starts.

    Raises
    ------
    FileNotFoundError
        If the block ends without the temporary file existing.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}"
    )
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        if not tmp.exists():
            raise FileNotFoundError(f"{path}: nothing was written to {tmp.name}")
        if tmp.is_file():
            _fsync_file(tmp)
        os.replace(tmp, path)
    except BaseException:
        _remove(tmp)
        raise
    _fsync_dir(path.parent)


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike[str], mode: str = "w", **kwargs: Any) -> Iterator[IO[Any]]:
    """Open a temporary file next to `path` for writing; on success it replaces `path`.

    Parameters
    ----------
    path
        The destination.
    mode
        ``"w"`` (text) or ``"wb"`` (bytes).
    **kwargs
        Passed to :func:`open` (``encoding``, ``newline`` ...); text defaults to UTF-8.
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_open writes a new file: mode 'w' or 'wb', got {mode!r}")
    if mode == "w":
        kwargs.setdefault("encoding", "utf-8")
    with atomic_path(path) as tmp, open(tmp, mode, **kwargs) as handle:
        yield handle
        handle.flush()
        os.fsync(handle.fileno())


def write_text(path: str | os.PathLike[str], text: str, *, encoding: str = "utf-8") -> Path:
    """Write `text` to `path` atomically (newlines as given); return the path."""
    with atomic_open(path, "w", encoding=encoding, newline="") as handle:
        handle.write(text)
    return Path(path)


def write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write `data` to `path` atomically; return the path."""
    with atomic_open(path, "wb") as handle:
        handle.write(data)
    return Path(path)


def write_json(
    path: str | os.PathLike[str], value: Any, *, indent: int | None = 2, sort_keys: bool = False
) -> Path:
    """Write `value` as JSON (with a final newline) to `path` atomically; return the path.

    The value is serialised before the file is touched, so a value JSON cannot hold raises
    without leaving anything behind.
    """
    return write_text(path, json.dumps(value, indent=indent, sort_keys=sort_keys) + "\n")
