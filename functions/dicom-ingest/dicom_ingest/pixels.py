"""Decoding one frame of pixel data with the decoders the platform ships.

pydicom tries every installed decoder plugin in turn (pylibjpeg with libjpeg, openjpeg and
rle; python-gdcm; Pillow). Its GDCM plugin refuses JPEG Extended with 12-bit samples, which
GDCM itself decodes (NEMA's WG04 ``NM1_JPLY`` test image is such a file): a frame that no
plugin decodes is handed to GDCM's own image API before it counts as undecodable.

A frame whose declared size is over :data:`MAX_FRAME_BYTES` is never decoded: a few bytes of
header must not make ingest allocate gigabytes.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import gdcm
import numpy as np
from numpy.typing import NDArray
from pydicom.dataset import Dataset
from pydicom.encaps import generate_frames
from pydicom.pixels.utils import pixel_array
from pydicom.uid import UID

MAX_FRAME_BYTES = 1 << 30
"""Largest decoded frame ingest accepts (1 GiB: a 16-bit 23000 x 23000 image)."""

PIXEL_KEYWORDS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")


class Undecodable(Exception):
    """No shipped decoder reads the frame; ``unsupported`` when none even claims the syntax."""

    def __init__(self, detail: str, *, unsupported: bool = False) -> None:
        self.detail = detail
        self.unsupported = unsupported
        super().__init__(detail)


def has_pixels(ds: Dataset) -> bool:
    return any(keyword in ds for keyword in PIXEL_KEYWORDS)


def frame_count(ds: Dataset) -> int:
    try:
        return max(int(ds.get("NumberOfFrames") or 1), 1)
    except (TypeError, ValueError):
        return 1


def decode_frame(ds: Dataset, index: int) -> NDArray[np.generic]:
    """Frame ``index`` of ``ds`` as an array; raises :class:`Undecodable` saying why."""
    syntax = UID(str(ds.file_meta.TransferSyntaxUID))
    _check_size(ds)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            frame: NDArray[np.generic] = pixel_array(ds, index=index)
    except NotImplementedError as exc:  # no installed plugin claims the syntax
        if not syntax.is_encapsulated:
            raise Undecodable(f"no decoder for {syntax.name}", unsupported=True) from exc
        frame = _gdcm_frame(ds, index, syntax, "no pydicom decoder", unsupported=True)
    except Exception as exc:
        why = f"{type(exc).__name__} from every pydicom decoder"
        if not syntax.is_encapsulated:
            raise Undecodable(f"{syntax.name} pixel data does not decode ({why})") from exc
        frame = _gdcm_frame(ds, index, syntax, why, unsupported=False)
    if frame.size == 0:
        raise Undecodable(f"frame {index} of {syntax.name} is empty")
    return frame


def frames(ds: Dataset) -> Iterator[NDArray[np.generic]]:
    """Every frame of ``ds`` in order, one at a time (memory for one frame only)."""
    for index in range(frame_count(ds)):
        yield decode_frame(ds, index)


def _check_size(ds: Dataset) -> None:
    try:
        rows, columns = int(ds.Rows), int(ds.Columns)
        samples = int(ds.get("SamplesPerPixel") or 1)
        bits = int(ds.get("BitsAllocated") or 8)
    except (AttributeError, TypeError, ValueError) as exc:
        raise Undecodable("Rows, Columns or BitsAllocated is missing or not a number") from exc
    size = rows * columns * samples * max(bits // 8, 1)
    if size > MAX_FRAME_BYTES:
        raise Undecodable(
            f"a frame of {rows} x {columns} x {samples} samples ({size} bytes) is over the "
            f"decode limit of {MAX_FRAME_BYTES} bytes"
        )


def _gdcm_frame(
    ds: Dataset, index: int, syntax: UID, why: str, *, unsupported: bool
) -> NDArray[np.generic]:
    """Decode one encapsulated frame with GDCM's image API (what pydicom's plugin refuses)."""
    try:
        encoded = _encoded_frame(ds, index)
        rows, columns = int(ds.Rows), int(ds.Columns)
        samples = int(ds.get("SamplesPerPixel") or 1)
        bits_allocated = int(ds.BitsAllocated)
        bits_stored = int(ds.get("BitsStored") or bits_allocated)
        signed = int(ds.get("PixelRepresentation") or 0)
        photometric = str(ds.get("PhotometricInterpretation") or "MONOCHROME2")
    except Exception as exc:
        raise Undecodable(
            f"{syntax.name} frame {index} cannot be read ({why})", unsupported=unsupported
        ) from exc
    fragment = gdcm.Fragment()
    fragment.SetByteStringValue(encoded)
    fragments = gdcm.SequenceOfFragments.New()
    fragments.AddFragment(fragment)
    element = gdcm.DataElement(gdcm.Tag(0x7FE0, 0x0010))
    element.SetValue(fragments.__ref__())
    image = gdcm.Image()
    image.SetNumberOfDimensions(2)
    image.SetDimensions((columns, rows, 1))
    image.SetDataElement(element)
    kind = gdcm.PhotometricInterpretation.GetPIType(photometric)
    image.SetPhotometricInterpretation(gdcm.PhotometricInterpretation(kind))
    image.SetTransferSyntax(gdcm.TransferSyntax(gdcm.TransferSyntax.GetTSType(str(syntax))))
    image.SetPixelFormat(
        gdcm.PixelFormat(samples, bits_allocated, bits_stored, bits_stored - 1, signed)
    )
    buffer = image.GetBuffer()  # a str of the raw bytes, or None when GDCM cannot decode
    if buffer is None:
        raise Undecodable(
            f"{syntax.name} frame {index} does not decode ({why}; GDCM failed too)",
            unsupported=unsupported,
        )
    raw = buffer.encode("utf-8", "surrogateescape")
    dtype = np.dtype(f"{'<i' if signed else '<u'}{max(bits_allocated // 8, 1)}")
    shape = (rows, columns, samples) if samples > 1 else (rows, columns)
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(raw) != expected:
        raise Undecodable(
            f"{syntax.name} frame {index}: GDCM returned {len(raw)} bytes, not {expected}"
        )
    return np.frombuffer(raw, dtype=dtype).reshape(shape)


def _encoded_frame(ds: Dataset, index: int) -> bytes:
    encoded = generate_frames(ds.PixelData, number_of_frames=frame_count(ds))
    for number, frame in enumerate(encoded):
        if number == index:
            return frame
    raise ValueError(f"no frame {index}")
