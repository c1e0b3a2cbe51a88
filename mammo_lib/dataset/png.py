"""PNG encoding of tiles without TensorFlow (so extraction workers stay light).

Tiles are written with zlib level 1 through imagecodecs (libpng): on 299-pixel mammogram tiles
that is about 2x faster than level 3 for about 6% more bytes (``benchmarks/extract.py``
measures it), and encoding is a large share of an extraction worker's time.
"""

from __future__ import annotations

import io

import imagecodecs
import numpy as np
from PIL import Image

#: zlib compression level of the tiles' PNG streams.
PNG_LEVEL = 1


def encode_png(image: np.ndarray, level: int = PNG_LEVEL) -> bytes:
    """Encode a 2-D ``uint8`` array (or ``[H, W, 1]``) as PNG bytes, deterministically."""
    array = np.asarray(image)
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim != 2 or array.dtype != np.uint8:
        raise ValueError(f"a tile must be a 2-D uint8 array, got {array.dtype} {array.shape}")
    return bytes(imagecodecs.png_encode(np.ascontiguousarray(array), level=level))


def decode_png(data: bytes) -> np.ndarray:
    """Decode PNG bytes of a grayscale tile to a 2-D ``uint8`` array."""
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("L"))
