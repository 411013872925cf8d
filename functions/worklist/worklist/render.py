"""Rendered frames (PS3.18 8.3.5, 10.4.1.1.3): PNG or JPEG with window/level, sized to a
viewport, optionally with the AI heatmap over them; cached in Redis.

Grayscale frames go through the Modality LUT, then the window asked for (center, width and
VOI LUT function), else the instance's own window, else its 0.5-99.5 percentiles;
MONOCHROME1 is inverted so that white is the most attenuating. Colour frames are shown as
their RGB values. The result fits the viewport, keeping its aspect.

A heatmap is stored as a PNG of the model's view with its heat over it (infer-cxr). Shown
over a frame, its heat is read back from that picture (its colourfulness: the gray view has
none) and stretched to the frame, then drawn with the same colour ramp.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from io import BytesIO
from typing import Final, Literal

import numpy as np
from numpy.typing import NDArray
from PIL import Image, UnidentifiedImageError
from pydicom.dataset import Dataset
from pydicom.pixels.processing import apply_modality_lut
from pydicom.pixels.utils import pixel_array

from acme.http import ApiError
from acme.imaging import (
    UnsupportedImageError,
    encode_png,
    heat_colours,
    heatmap_overlay,
    resample,
    window,
)
from worklist.encoding import Undecodable

Format = Literal["image/png", "image/jpeg"]
VoiFunction = Literal["LINEAR", "LINEAR_EXACT", "SIGMOID"]
FORMATS: Final[tuple[Format, ...]] = ("image/jpeg", "image/png")
MAX_SIDE: Final = 4096
_OPACITY: Final = 0.55
_DECODE_ERRORS = (ValueError, RuntimeError, NotImplementedError, TypeError, KeyError, IndexError)


@dataclass(frozen=True)
class Window:
    center: float
    width: float
    function: VoiFunction = "LINEAR"


@dataclass(frozen=True)
class Rendering:
    """How to render one frame."""

    media_type: Format = "image/jpeg"
    window: Window | None = None
    viewport: tuple[int, int] | None = None
    quality: int = 90

    def key(self, sop_uid: str, sha256: str, frame: int, overlay: str | None) -> str:
        """The cache key: the instance's content, the frame and every choice made."""
        text = f"{sop_uid}:{sha256}:{frame}:{self}:{overlay}"
        return hashlib.sha256(text.encode()).hexdigest()


def render(
    ds: Dataset, frame: int, how: Rendering, heatmap: bytes | None = None
) -> tuple[bytes, tuple[int, int]]:
    """Frame ``frame`` (1-based) rendered as ``how`` says; the bytes and (rows, columns)."""
    count = int(ds.get("NumberOfFrames", 1) or 1)
    if "PixelData" not in ds:
        raise ApiError(404, "not-found", "the instance has no pixel data to render")
    if frame > count:
        raise ApiError(404, "not-found", f"frame {frame}: the instance has {count} frame(s)")
    try:
        picture = _picture(ds, frame - 1, how.window)
    except UnsupportedImageError as exc:
        raise ApiError(406, "not-acceptable", f"cannot render this instance: {exc}") from None
    except _DECODE_ERRORS as exc:
        raise Undecodable(f"frame {frame}", exc) from None
    picture = _fit(picture, how.viewport)
    if heatmap is not None:
        if picture.ndim != 2:
            raise ApiError(406, "not-acceptable", "a heatmap is drawn over grayscale frames only")
        heat = resample(heat_of(heatmap), *picture.shape)
        pixels = heatmap_overlay(picture, np.clip(heat, 0.0, 1.0), opacity=_OPACITY)
    else:
        pixels = np.rint(np.clip(picture, 0.0, 1.0) * 255.0).astype(np.uint8)
    return encode(pixels, how), (int(pixels.shape[0]), int(pixels.shape[1]))


def encode(pixels: NDArray[np.uint8], how: Rendering) -> bytes:
    if how.media_type == "image/png":
        return encode_png(pixels)
    out = BytesIO()
    Image.fromarray(pixels).save(out, format="JPEG", quality=how.quality)
    return out.getvalue()


def heat_of(png: bytes) -> NDArray[np.float32]:
    """The heat of a stored heatmap picture, in [0, 1] (see the module docstring)."""
    try:
        rgb = np.asarray(Image.open(BytesIO(png)).convert("RGB"), dtype=np.float32) / 255.0
    except (UnidentifiedImageError, OSError) as exc:
        raise ApiError(500, "heatmap-unreadable", f"a stored heatmap is unreadable: {exc}") from exc
    colourful = rgb.max(axis=2) - rgb.min(axis=2)
    heat: NDArray[np.float32] = np.clip(colourful / _OPACITY, 0.0, 1.0).astype(np.float32)
    return heat


def heat_layer(png: bytes) -> bytes:
    """A stored heatmap picture as its heat alone: an RGBA PNG of the same size, coloured with
    the ramp and as opaque as the heat (transparent where the model did not look), for a
    viewer to stretch over the frame with an opacity of its choosing."""
    heat = heat_of(png)
    rgba = np.concatenate([heat_colours(heat), heat[:, :, None]], axis=2)
    return encode_png(np.rint(rgba * 255.0).astype(np.uint8))


def _picture(ds: Dataset, index: int, chosen: Window | None) -> NDArray[np.float32]:
    """The frame as display values in [0, 1]: (H, W) grayscale or (H, W, 3) RGB."""
    photometric = str(ds.get("PhotometricInterpretation", "")).strip()
    samples = int(ds.get("SamplesPerPixel", 1))
    if samples == 3:
        rgb = pixel_array(ds, index=index)  # YBR converted to RGB
        top = float(2 ** int(ds.get("BitsStored", 8)) - 1)
        return (np.asarray(rgb, dtype=np.float32) / top).astype(np.float32)
    if photometric not in ("MONOCHROME1", "MONOCHROME2") or samples != 1:
        raise UnsupportedImageError(
            f"PhotometricInterpretation {photometric or '(missing)'!r}: expected grayscale or RGB"
        )
    values = apply_modality_lut(pixel_array(ds, index=index), ds)
    shown = _windowed(np.asarray(values, dtype=np.float64), ds, chosen)
    if photometric == "MONOCHROME1":
        shown = 1.0 - shown
    return shown.astype(np.float32)


def _windowed(
    values: NDArray[np.float64], ds: Dataset, chosen: Window | None
) -> NDArray[np.float64]:
    if chosen is not None:
        return window(values, chosen.center, chosen.width, chosen.function)
    center, width = ds.get("WindowCenter"), ds.get("WindowWidth")
    if center is not None and width is not None:
        try:
            c, w = _first(center), _first(width)
        except (TypeError, ValueError, IndexError):
            c = w = float("nan")
        if np.isfinite(c) and np.isfinite(w) and w >= 1:
            function = str(ds.get("VOILUTFunction", "LINEAR")).strip().upper() or "LINEAR"
            if function in ("LINEAR", "LINEAR_EXACT", "SIGMOID"):
                return window(values, c, w, function)
    low, high = np.percentile(values, (0.5, 99.5))
    if high <= low:
        return np.zeros_like(values)
    scaled: NDArray[np.float64] = np.clip((values - low) / (high - low), 0.0, 1.0)
    return scaled


def _first(value: object) -> float:
    """The first of a possibly multi-valued DS (the default window)."""
    if isinstance(value, str | bytes):
        return float(value)
    try:
        return float(value[0])  # type: ignore[index]
    except TypeError:
        return float(value)  # type: ignore[arg-type]


def _fit(picture: NDArray[np.float32], viewport: tuple[int, int] | None) -> NDArray[np.float32]:
    rows, columns = picture.shape[:2]
    width, height = viewport or (columns, rows)
    scale = min(width / columns, height / rows, 1.0 if viewport is None else float("inf"))
    scale = min(scale, MAX_SIDE / max(rows, columns))
    target = (max(1, round(rows * scale)), max(1, round(columns * scale)))
    if target == (rows, columns):
        return picture
    if picture.ndim == 2:
        return resample(picture, *target)
    return np.stack([resample(picture[:, :, c], *target) for c in range(3)], axis=-1)
