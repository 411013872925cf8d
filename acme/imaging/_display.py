"""DICOM pixel data to display values: decode, Modality LUT, VOI LUT or window, MONOCHROME1.

The pipeline of PS3.4 Annex N.2 (grayscale): stored values → Modality LUT (rescale or
Modality LUT Sequence, C.11.1) → VOI LUT (VOI LUT Sequence, or Window Center/Width with its
VOI LUT Function, C.11.2) → presentation. The result is scaled to [0, 1] with 1 the most
attenuating (white, as a radiograph is read): a MONOCHROME1 image, whose minimum is white, is
inverted (C.7.6.3.1.2). DX's Presentation LUT Shape ``INVERSE`` states the same inversion
for MONOCHROME1 images (C.8.11.7), so it is not applied a second time.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass
from io import BytesIO
from typing import Literal, cast

import numpy as np
from numpy.typing import NDArray
from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.pixels.processing import apply_modality_lut, apply_voi

from acme.imaging._errors import DecodeError, UnsupportedImageError

Image = NDArray[np.float32]
VoiMode = Literal["header", "percentile"]

_DECODE_ERRORS = (
    ValueError,
    RuntimeError,
    NotImplementedError,
    TypeError,
    AttributeError,
    KeyError,
    IndexError,
    EOFError,
    struct.error,
)
"""What pydicom and its decoder plugins raise for pixel data they cannot decode."""


@dataclass(frozen=True)
class DisplayImage:
    """One frame as display values: ``pixels`` in [0, 1], 1 white (most attenuating)."""

    pixels: Image
    frame: int
    voi: str
    """How values were mapped to [0, 1], e.g. ``window 2048/4096 LINEAR``."""


def read_dataset(data: bytes) -> Dataset:
    """Parse a DICOM object (Part 10, or a raw dataset without preamble)."""
    try:
        return dcmread(BytesIO(data), force=True)
    except (InvalidDicomError, *_DECODE_ERRORS) as exc:
        raise DecodeError(f"not readable as DICOM: {exc}") from exc


def display_frames(
    ds: Dataset,
    *,
    voi: VoiMode = "header",
    percentiles: tuple[float, float] = (0.5, 99.5),
) -> list[DisplayImage]:
    """Every frame of ``ds`` as display values (see the module docstring).

    ``voi="header"`` uses the VOI LUT Sequence, else Window Center/Width, else falls back to
    ``percentiles`` of the frame; ``"percentile"`` always uses the percentiles.
    """
    inverted = _check_grayscale(ds) == "MONOCHROME1"
    stored = _decode(ds)
    frames = stored if stored.ndim == 3 else stored[np.newaxis]
    images = []
    for index, frame in enumerate(frames):
        shown = _by_window_table(frame, ds, voi, percentiles, inverted)
        pixels, how = shown or _display_values(frame, ds, voi, percentiles, inverted)
        images.append(DisplayImage(pixels=pixels, frame=index, voi=how))
    return images


def _display_values(
    stored: NDArray[np.generic],
    ds: Dataset,
    voi: VoiMode,
    percentiles: tuple[float, float],
    inverted: bool,
) -> tuple[Image, str]:
    """Stored values -> Modality LUT -> VOI -> MONOCHROME1 inversion, as float32."""
    values = apply_modality_lut(stored, ds)
    pixels, how = _apply_voi(values, ds, voi, percentiles)
    if inverted:
        pixels = 1.0 - pixels
    return pixels.astype(np.float32), how


def _by_window_table(
    frame: NDArray[np.generic],
    ds: Dataset,
    voi: VoiMode,
    percentiles: tuple[float, float],
    inverted: bool,
) -> tuple[Image, str] | None:
    """The frame's display values looked up in a table of every stored value up to its
    highest (from 0, or from its lowest when negative), when it is integral and windowed.

    A rescale or Modality LUT and a window map each value on its own (a VOI LUT Sequence is
    scaled by its output range and the percentile fallback depends on the whole frame, so
    they do not), and a large radiograph holds millions of pixels but a few thousand distinct
    values: mapping each value once and looking the frame up in the table gives the same
    display values at a fraction of the work (the stored-value-indexed LUTs of PS3.3 C.11).
    None when that does not hold or the table would not be smaller than the frame.
    """
    if voi != "header" or _has_voi_lut(ds) or not _windowed(ds):
        return None
    if not np.issubdtype(frame.dtype, np.integer):
        return None
    # unsigned values index the table from 0 directly; signed ones from their lowest
    low = 0 if np.issubdtype(frame.dtype, np.unsignedinteger) else min(int(frame.min()), 0)
    high = int(frame.max())
    if high - low + 1 > min(_TABLE_LIMIT, frame.size):
        return None
    grid = np.arange(low, high + 1, dtype=frame.dtype)
    table, how = _display_values(grid, ds, voi, percentiles, inverted)
    # an index of the frame's own type: no intp copy of the frame to allocate; ``take``
    # gathers in half the time of fancy indexing (one contiguous output, no index checks
    # beyond the bounds the table was sized to)
    index = cast(
        NDArray[np.integer], frame if low == 0 else np.subtract(frame, low, dtype=np.int32)
    )
    shown: Image = np.take(table, index)
    return shown, how


_TABLE_LIMIT = 1 << 16
"""Most stored values a window table holds (16-bit data)."""


def _check_grayscale(ds: Dataset) -> str:
    if "PixelData" not in ds:
        raise UnsupportedImageError("the instance has no PixelData (7FE0,0010)")
    photometric = str(ds.get("PhotometricInterpretation", "")).strip()
    samples = int(ds.get("SamplesPerPixel", 1))
    if photometric not in ("MONOCHROME1", "MONOCHROME2") or samples != 1:
        raise UnsupportedImageError(
            f"PhotometricInterpretation {photometric or '(missing)'!r} with SamplesPerPixel "
            f"{samples}: expected a grayscale image (MONOCHROME1 or MONOCHROME2, 1 sample)"
        )
    return photometric


def _decode(ds: Dataset) -> NDArray[np.generic]:
    meta = getattr(ds, "file_meta", None)
    syntax = meta.get("TransferSyntaxUID") if meta is not None else None
    name = getattr(syntax, "name", None) or str(syntax or "implicit VR little endian")
    try:
        stored: NDArray[np.generic] = ds.pixel_array
    except _DECODE_ERRORS as exc:
        raise DecodeError(f"pixel data ({name}) could not be decoded: {exc}") from exc
    if stored.ndim not in (2, 3) or min(stored.shape[-2:]) < 2:
        raise UnsupportedImageError(f"pixel data of shape {stored.shape}: expected frames of 2-D")
    return stored


def _apply_voi(
    values: NDArray[np.generic], ds: Dataset, mode: VoiMode, percentiles: tuple[float, float]
) -> tuple[NDArray[np.float64], str]:
    if mode == "header":
        if _has_voi_lut(ds):
            return _voi_lut(values, ds), "VOI LUT"
        if _windowed(ds):
            center, width = ds.get("WindowCenter"), ds.get("WindowWidth")
            function = str(ds.get("VOILUTFunction", "LINEAR")).strip().upper() or "LINEAR"
            c, w = _first(center, "WindowCenter"), _first(width, "WindowWidth")
            return window(values, c, w, function), f"window {c:g}/{w:g} {function}"
    low, high = np.percentile(np.asarray(values, dtype=np.float64), percentiles)
    how = f"percentiles {percentiles[0]:g}-{percentiles[1]:g}"
    return _scale(values, float(low), float(high)), how


def _has_voi_lut(ds: Dataset) -> bool:
    """Whether ``ds`` has a usable VOI LUT Sequence (0028,3010)."""
    lut = ds.get("VOILUTSequence")
    return bool(lut) and "LUTDescriptor" in lut[0] and "LUTData" in lut[0]


def _windowed(ds: Dataset) -> bool:
    return ds.get("WindowCenter") is not None and ds.get("WindowWidth") is not None


def _voi_lut(values: NDArray[np.generic], ds: Dataset) -> NDArray[np.float64]:
    integral = np.rint(values).astype(np.int64)
    try:
        mapped = apply_voi(integral, ds)
    except _DECODE_ERRORS as exc:
        raise UnsupportedImageError(f"VOILUTSequence (0028,3010) cannot be applied: {exc}") from exc
    table = np.asarray(mapped, dtype=np.float64)
    return _scale(table, float(table.min()), float(table.max()))


def window(
    values: NDArray[np.generic], center: float, width: float, function: str = "LINEAR"
) -> NDArray[np.float64]:
    """Window ``values`` to [0, 1] by PS3.3 C.11.2.1.2 (LINEAR, LINEAR_EXACT, SIGMOID)."""
    x = np.asarray(values, dtype=np.float64)
    if function == "LINEAR":
        if width < 1:
            raise UnsupportedImageError(f"WindowWidth {width:g}: LINEAR needs a width >= 1")
        if width == 1:
            return (x > center - 0.5).astype(np.float64)
        return np.clip((x - (center - 0.5)) / (width - 1) + 0.5, 0.0, 1.0)
    if function == "LINEAR_EXACT":
        if width <= 0:
            raise UnsupportedImageError(f"WindowWidth {width:g}: LINEAR_EXACT needs a width > 0")
        return np.clip((x - center) / width + 0.5, 0.0, 1.0)
    if function == "SIGMOID":
        if width <= 0:
            raise UnsupportedImageError(f"WindowWidth {width:g}: SIGMOID needs a width > 0")
        return 1.0 / (1.0 + np.exp(-4.0 * (x - center) / width))
    raise UnsupportedImageError(
        f"VOILUTFunction {function!r}: expected LINEAR, LINEAR_EXACT or SIGMOID"
    )


def _first(value: object, keyword: str) -> float:
    """The first of a possibly multi-valued DS (several windows: the first is the default)."""
    many = isinstance(value, Sequence) and not isinstance(value, str | bytes)
    try:
        return float(str(value[0] if many else value))  # type: ignore[index]
    except (IndexError, TypeError, ValueError) as exc:
        raise UnsupportedImageError(f"{keyword} {value!r}: expected a number") from exc


def _scale(values: NDArray[np.generic], low: float, high: float) -> NDArray[np.float64]:
    x = np.asarray(values, dtype=np.float64)
    if not np.isfinite(low) or not np.isfinite(high):
        raise UnsupportedImageError("the pixel values are not finite")
    if high <= low:
        return np.zeros_like(x)
    return np.clip((x - low) / (high - low), 0.0, 1.0)
