"""PNG encoding of tiles without TensorFlow (so extraction workers stay light)."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image


def encode_png(image: np.ndarray) -> bytes:
    """Encode a 2-D ``uint8`` array (or ``[H, W, 1]``) as PNG bytes, deterministically."""
    array = np.asarray(image)
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim != 2 or array.dtype != np.uint8:
        raise ValueError(f"a tile must be a 2-D uint8 array, got {array.dtype} {array.shape}")
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(array), mode="L").save(
        buffer, format="PNG", compress_level=3
    )
    return buffer.getvalue()


def decode_png(data: bytes) -> np.ndarray:
    """Decode PNG bytes of a grayscale tile to a 2-D ``uint8`` array."""
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("L"))
