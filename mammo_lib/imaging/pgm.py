"""Netpbm greymap (PGM) files: binary P5 (8- and 16-bit) and ASCII P2.

The format (netpbm.sourceforge.net/doc/pgm.html): a magic number (``P5`` binary, ``P2``
ASCII), then width, height and maxval as ASCII decimals separated by whitespace, where a
``#`` starts a comment that runs to the end of the line, anywhere in the header. One single
whitespace character follows maxval, then the raster: for P5 one byte per pixel when
maxval < 256, otherwise two bytes, most significant first (big-endian); for P2 decimal
numbers separated by whitespace. mini-MIAS ships 1024 x 1024 8-bit P5 files.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mammo_lib.io import write_bytes

__all__ = ["PgmError", "PgmHeader", "read_pgm", "read_pgm_header", "write_pgm"]

_WHITESPACE = b" \t\n\r\v\f"
_MAGICS = (b"P5", b"P2")


class PgmError(ValueError):
    """A file that is not a valid PGM; the message names the file and the problem."""


@dataclass(frozen=True)
class PgmHeader:
    """The header of a PGM file.

    Attributes
    ----------
    magic
        ``"P5"`` (binary) or ``"P2"`` (ASCII).
    width, height
        Image size in pixels.
    maxval
        Largest grey value, 1..65535.
    data_offset
        Byte offset of the raster in the file.
    """

    magic: str
    width: int
    height: int
    maxval: int
    data_offset: int

    @property
    def bytes_per_sample(self) -> int:
        """1 when maxval < 256, else 2 (binary P5 raster)."""
        return 1 if self.maxval < 256 else 2

    @property
    def dtype(self) -> np.dtype:
        """The numpy dtype of the decoded array: uint8 or uint16."""
        return np.dtype(np.uint8 if self.maxval < 256 else np.uint16)

    @property
    def raster_bytes(self) -> int:
        """Size of a binary P5 raster in bytes."""
        return self.width * self.height * self.bytes_per_sample


def _end_of_comment(buf: bytes, pos: int, name: str) -> int:
    """Index of the newline (or carriage return) that ends the comment starting at `pos`."""
    ends = [e for e in (buf.find(b"\n", pos), buf.find(b"\r", pos)) if e != -1]
    if not ends:
        raise PgmError(f"{name}: header comment runs to the end of the file")
    return min(ends)


def _parse_header(buf: bytes, name: str) -> PgmHeader:
    """Parse the header at the start of `buf` (the file's bytes); `name` is used in errors."""
    magic = buf[:2]
    if magic not in _MAGICS:
        raise PgmError(f"{name}: not a PGM file (magic {magic!r}; expected b'P5' or b'P2')")
    pos = 2
    values: list[int] = []
    while len(values) < 3:
        if pos >= len(buf):
            raise PgmError(
                f"{name}: header ends after {len(values)} of 3 numbers (width, height, maxval)"
            )
        ch = buf[pos : pos + 1]
        if ch == b"#":
            pos = _end_of_comment(buf, pos, name) + 1
            continue
        if buf[pos] in _WHITESPACE:
            pos += 1
            continue
        start = pos
        while pos < len(buf) and buf[pos : pos + 1].isdigit():
            pos += 1
        token = buf[start:pos]
        if not token or (
            pos < len(buf) and buf[pos] not in _WHITESPACE and buf[pos : pos + 1] != b"#"
        ):
            bad = buf[start : start + 10]
            raise PgmError(f"{name}: unexpected {bad!r} in the header at byte {start}")
        values.append(int(token))
    width, height, maxval = values
    if width < 1 or height < 1:
        raise PgmError(f"{name}: image size {width} x {height} is empty")
    if not 1 <= maxval <= 65535:
        raise PgmError(f"{name}: maxval {maxval} outside 1..65535")
    if buf[pos : pos + 1] == b"#":  # a comment right after maxval: its line end delimits the raster
        pos = _end_of_comment(buf, pos, name)
    if pos >= len(buf):
        raise PgmError(f"{name}: header ends without the whitespace after maxval")
    if buf[pos] not in _WHITESPACE:
        raise PgmError(f"{name}: expected one whitespace character after maxval at byte {pos}")
    return PgmHeader(magic.decode(), width, height, maxval, pos + 1)


def read_pgm_header(path: str | os.PathLike[str]) -> PgmHeader:
    """Read only the header of a PGM file.

    Parameters
    ----------
    path
        The file.

    Returns
    -------
    PgmHeader

    Raises
    ------
    PgmError
        If the header is malformed.
    """
    path = Path(path)
    with open(path, "rb") as fh:
        head = fh.read(4096)
    # A header longer than 4 KiB is legal (long comments) but rare; fall back to the whole file.
    try:
        return _parse_header(head, str(path))
    except PgmError:
        if len(head) < 4096:
            raise
        return _parse_header(path.read_bytes(), str(path))


def read_pgm(path: str | os.PathLike[str]) -> np.ndarray:
    """Read a PGM file (binary P5 or ASCII P2) into an array.

    Parameters
    ----------
    path
        The file.

    Returns
    -------
    numpy.ndarray
        Shape ``(height, width)``, dtype uint8 when maxval < 256 else uint16 (native byte
        order). Values are the file's grey values, not rescaled.

    Raises
    ------
    PgmError
        If the header is malformed, the file size does not match the header (message names
        the expected and actual byte counts), or a value exceeds maxval.
    """
    path = Path(path)
    buf = path.read_bytes()
    header = _parse_header(buf, str(path))
    count = header.width * header.height
    if header.magic == "P5":
        expected = header.data_offset + header.raster_bytes
        if len(buf) != expected:
            what = "truncated" if len(buf) < expected else "has trailing bytes"
            raise PgmError(
                f"{path}: file size does not match its header ({what}): a {header.width} x "
                f"{header.height} P5 image with maxval {header.maxval} needs {expected} bytes "
                f"({header.data_offset} header + {header.raster_bytes} raster), "
                f"the file has {len(buf)}"
            )
        raw_dtype = ">u1" if header.bytes_per_sample == 1 else ">u2"
        data = np.frombuffer(buf, dtype=raw_dtype, count=count, offset=header.data_offset)
        image = data.astype(header.dtype).reshape(header.height, header.width)
    else:
        image = _read_p2_raster(buf[header.data_offset :], header, str(path))
    if header.maxval not in (255, 65535) and image.max(initial=0) > header.maxval:
        raise PgmError(f"{path}: a grey value {int(image.max())} exceeds maxval {header.maxval}")
    return image


def _read_p2_raster(raster: bytes, header: PgmHeader, name: str) -> np.ndarray:
    """Decode the ASCII raster of a P2 file (comments allowed)."""
    lines = [line.split(b"#", 1)[0] for line in raster.splitlines()]
    tokens = b" ".join(lines).split()
    count = header.width * header.height
    if len(tokens) != count:
        raise PgmError(
            f"{name}: P2 raster has {len(tokens)} values, the header's {header.width} x "
            f"{header.height} needs {count}"
        )
    try:
        values = np.array([int(t) for t in tokens], dtype=np.int64)
    except ValueError as exc:
        raise PgmError(f"{name}: P2 raster holds a non-integer value ({exc})") from None
    if values.min(initial=0) < 0 or values.max(initial=0) > header.maxval:
        raise PgmError(f"{name}: a P2 grey value lies outside 0..{header.maxval}")
    return values.astype(header.dtype).reshape(header.height, header.width)


def write_pgm(
    path: str | os.PathLike[str],
    image: np.ndarray,
    maxval: int | None = None,
    *,
    comment: str | None = None,
) -> Path:
    """Write a 2-D integer array as a binary P5 PGM, atomically.

    Parameters
    ----------
    path
        Destination file.
    image
        2-D array of non-negative integers (uint8 or uint16 typical).
    maxval
        The header's maxval (default: 255 for uint8, else 65535).
    comment
        Optional one-line comment written after the magic number.

    Returns
    -------
    pathlib.Path
        The written file.
    """
    path = Path(path)
    image = np.asarray(image)
    if image.ndim != 2:
        raise ValueError(f"{path}: a PGM holds a 2-D image, got shape {image.shape}")
    if maxval is None:
        maxval = 255 if image.dtype == np.uint8 else 65535
    if not 1 <= maxval <= 65535:
        raise ValueError(f"{path}: maxval {maxval} outside 1..65535")
    if image.size and (image.min() < 0 or image.max() > maxval):
        raise ValueError(f"{path}: values outside 0..{maxval}")
    raw = image.astype(">u1" if maxval < 256 else ">u2").tobytes()
    head = b"P5\n"
    if comment:
        head += b"# " + comment.replace("\n", " ").encode("ascii", "replace") + b"\n"
    head += f"{image.shape[1]} {image.shape[0]}\n{maxval}\n".encode()
    return write_bytes(path, head + raw)
