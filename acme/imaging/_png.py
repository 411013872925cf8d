"""A small PNG encoder (8-bit grayscale, RGB or RGBA) with numpy and zlib, and heatmap overlays.

PNG (ISO/IEC 15948): signature, IHDR, one IDAT of zlib-compressed scanlines each led by its
filter type (here 2, "Up", which compresses smooth images well), IEND; every chunk carries a
CRC-32 of its type and data.
"""

from __future__ import annotations

import struct
import zlib
from typing import Final

import numpy as np
from numpy.typing import NDArray

from acme.imaging._errors import UnsupportedImageError

PNG_SIGNATURE: Final = b"\x89PNG\r\n\x1a\n"
_COLOUR_TYPES: Final = {1: 0, 3: 2, 4: 6}  # channels -> PNG colour type

# A perceptual blue-cyan-yellow-red ramp for heat (positions in [0, 1] and RGB in [0, 1]).
_RAMP_AT: Final = (0.0, 0.35, 0.65, 1.0)
_RAMP_RGB: Final = ((0.0, 0.2, 1.0), (0.0, 0.9, 0.9), (1.0, 0.9, 0.0), (1.0, 0.0, 0.0))


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def encode_png(pixels: NDArray[np.uint8]) -> bytes:
    """PNG bytes of ``pixels``: (H, W) grayscale, or (H, W, 3) RGB, or (H, W, 4) RGBA, uint8."""
    if pixels.dtype != np.uint8:
        raise UnsupportedImageError(f"encode_png: expected uint8 pixels, got {pixels.dtype}")
    image = pixels[:, :, None] if pixels.ndim == 2 else pixels
    if image.ndim != 3 or image.shape[2] not in _COLOUR_TYPES or min(image.shape[:2]) < 1:
        raise UnsupportedImageError(
            f"encode_png: expected (H, W), (H, W, 3) or (H, W, 4) pixels, got {pixels.shape}"
        )
    height, width, channels = image.shape
    rows = image.reshape(height, width * channels).astype(np.int16)
    up = np.empty_like(rows)
    up[0] = rows[0]
    up[1:] = rows[1:] - rows[:-1]
    filtered = np.empty((height, width * channels + 1), dtype=np.uint8)
    filtered[:, 0] = 2
    filtered[:, 1:] = (up & 0xFF).astype(np.uint8)
    header = struct.pack(">IIBBBBB", width, height, 8, _COLOUR_TYPES[channels], 0, 0, 0)
    return b"".join(
        (
            PNG_SIGNATURE,
            _chunk(b"IHDR", header),
            _chunk(b"IDAT", zlib.compress(filtered.tobytes(), 6)),
            _chunk(b"IEND", b""),
        )
    )


def heat_colours(heat: NDArray[np.floating]) -> NDArray[np.float32]:
    """(H, W, 3) RGB in [0, 1] for ``heat`` in [0, 1] along a blue-to-red ramp."""
    clipped = np.clip(np.asarray(heat, dtype=np.float32), 0.0, 1.0)
    channels = [np.interp(clipped, _RAMP_AT, [rgb[i] for rgb in _RAMP_RGB]) for i in range(3)]
    return np.stack(channels, axis=-1).astype(np.float32)


def heatmap_overlay(
    base: NDArray[np.floating], heat: NDArray[np.floating], *, opacity: float = 0.55
) -> NDArray[np.uint8]:
    """The grayscale ``base`` (in [0, 1]) with ``heat`` (in [0, 1], same shape) blended over it.

    Each pixel's heat sets both its colour and how opaque the colour is, so where the model
    did not look the image stays as it was.
    """
    if base.shape != heat.shape or base.ndim != 2:
        raise UnsupportedImageError(
            f"heatmap_overlay: base {base.shape} and heat {heat.shape} must be equal 2-D shapes"
        )
    gray = np.clip(np.asarray(base, dtype=np.float32), 0.0, 1.0)[:, :, None]
    alpha = (np.clip(np.asarray(heat, dtype=np.float32), 0.0, 1.0) * np.float32(opacity))[
        :, :, None
    ]
    blended = gray * (1.0 - alpha) + heat_colours(heat) * alpha
    return np.rint(blended * 255.0).astype(np.uint8)
