"""Instances and frames in the transfer syntax a client asks for (PS3.18 8.7.3, 8.7.4).

An instance is sent as archived (its Part 10 file, byte for byte) when the client accepts its
transfer syntax (or ``*``); uncompressed (Explicit VR Little Endian, the default when none is
named) by decoding it; any other syntax is not offered (406). Frames are sent as stored (the
native frame's bytes, or the compressed frame's bitstream) or uncompressed (little-endian
pixel cells, PS3.5 8.2).
"""

from __future__ import annotations

from collections.abc import Sequence
from io import BytesIO
from typing import Final

import numpy as np
from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.encaps import generate_frames
from pydicom.errors import InvalidDicomError
from pydicom.pixels.utils import pixel_array
from pydicom.uid import UID, ExplicitVRLittleEndian, ImplicitVRLittleEndian

from acme.http import ApiError

EXPLICIT_LE: Final = str(ExplicitVRLittleEndian)
UNCOMPRESSED: Final = frozenset({EXPLICIT_LE, str(ImplicitVRLittleEndian)})
_JPEG, _JLS, _J2K, _HTJ2K = "image/jpeg", "image/jls", "image/jp2", "image/jphc"
COMPRESSED_MEDIA: Final = {
    "1.2.840.10008.1.2.4.50": _JPEG,
    "1.2.840.10008.1.2.4.51": _JPEG,
    "1.2.840.10008.1.2.4.57": _JPEG,
    "1.2.840.10008.1.2.4.70": _JPEG,
    "1.2.840.10008.1.2.4.80": _JLS,
    "1.2.840.10008.1.2.4.81": _JLS,
    "1.2.840.10008.1.2.4.90": _J2K,
    "1.2.840.10008.1.2.4.91": _J2K,
    "1.2.840.10008.1.2.4.201": _HTJ2K,
    "1.2.840.10008.1.2.4.202": _HTJ2K,
    "1.2.840.10008.1.2.4.203": _HTJ2K,
    "1.2.840.10008.1.2.5": "image/dicom-rle",
}
"""The media type of a frame stored in each compressed transfer syntax (PS3.18 Table 8.7.3-2)."""
_DECODE_ERRORS = (ValueError, RuntimeError, NotImplementedError, TypeError, KeyError, IndexError)


class Undecodable(ApiError):
    """The archived pixel data cannot be decoded into what was asked (a 406: it can only be
    had as stored)."""

    def __init__(self, what: str, exc: Exception) -> None:
        super().__init__(
            406, "not-acceptable", f"{what} cannot be decoded ({type(exc).__name__}); ask for"
            " its stored transfer syntax (transfer-syntax=*)",
        )  # fmt: skip


def read(data: bytes) -> Dataset:
    """The archived Part 10 file as a dataset."""
    try:
        return dcmread(BytesIO(data), force=True)
    except (InvalidDicomError, *_DECODE_ERRORS) as exc:
        raise ApiError(
            500, "archive-unreadable", f"an archived instance is unreadable: {exc}"
        ) from exc


def can_send(stored: str, wanted: str | None) -> bool:
    """Whether an instance stored as ``stored`` can be sent as ``wanted`` (None: the default)."""
    return wanted in ("*", stored) or (wanted or EXPLICIT_LE) in UNCOMPRESSED


def instance_as(data: bytes, stored: str, wanted: str | None) -> tuple[bytes, str]:
    """The Part 10 file in ``wanted`` (``*``: as archived) and the syntax it is in."""
    if wanted in ("*", stored):
        return data, stored
    target = wanted or EXPLICIT_LE
    if target not in UNCOMPRESSED:
        raise ApiError(406, "not-acceptable", f"transfer-syntax={target}: not offered")
    ds = read(data)
    try:
        if ds.file_meta.TransferSyntaxUID.is_compressed:
            ds.decompress()
        ds.file_meta.TransferSyntaxUID = UID(target)
        out = BytesIO()
        ds.save_as(out, enforce_file_format=True)
    except _DECODE_ERRORS as exc:
        raise Undecodable(f"instance {ds.get('SOPInstanceUID', '')}", exc) from None
    return out.getvalue(), target


def frame_media(stored: str) -> str:
    """The media type of a frame as stored."""
    return COMPRESSED_MEDIA.get(stored, "application/octet-stream")


def frames_as_stored(ds: Dataset, numbers: Sequence[int]) -> list[bytes]:
    """Frames ``numbers`` (1-based) as stored: bitstreams of a compressed instance, or the
    pixel cells of a native one."""
    count = _count(ds, numbers)
    syntax = ds.file_meta.TransferSyntaxUID
    if syntax.is_compressed:
        stored = list(generate_frames(ds.PixelData, number_of_frames=count))
        return [stored[n - 1] for n in numbers]
    size = _frame_size(ds)
    if size is None or not syntax.is_little_endian:
        return frames_uncompressed(ds, numbers)
    data = bytes(ds.PixelData)
    return [data[(n - 1) * size : n * size] for n in numbers]


def frames_uncompressed(ds: Dataset, numbers: Sequence[int]) -> list[bytes]:
    """Frames ``numbers`` (1-based) decoded to little-endian pixel cells."""
    _count(ds, numbers)
    out = []
    for number in numbers:
        try:
            cells = pixel_array(ds, index=number - 1, raw=True)
        except _DECODE_ERRORS as exc:
            raise Undecodable(f"frame {number}", exc) from None
        dtype = cells.dtype.newbyteorder("<")
        out.append(np.ascontiguousarray(cells, dtype=dtype).tobytes())
    return out


def _count(ds: Dataset, numbers: Sequence[int]) -> int:
    if "PixelData" not in ds:
        raise ApiError(404, "not-found", "the instance has no pixel data, hence no frames")
    count = int(ds.get("NumberOfFrames", 1) or 1)
    beyond = [n for n in numbers if n > count]
    if beyond:
        raise ApiError(404, "not-found", f"frame {beyond[0]}: the instance has {count} frame(s)")
    return count


def _frame_size(ds: Dataset) -> int | None:
    bits = int(ds.get("BitsAllocated", 0))
    if bits % 8:
        return None
    cells = int(ds.Rows) * int(ds.Columns) * int(ds.get("SamplesPerPixel", 1))
    return cells * bits // 8
