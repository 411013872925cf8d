"""The bad-input corpus under ``bad/``: each file with the reason code ingest must quarantine it
with (see :class:`~acme.samples.manifest.Reason`).

Choices made here:

* An empty object is ``empty``, not ``not-dicom``: the operator learns the upload failed.
* JPEG 2000 declared with garbage fragments is ``corrupt-pixel-data``, not
  ``unsupported-syntax``: the syntax is supported, the data is broken. Ingest must try to
  decode (at least the first frame) to notice it.
* A truncated file is ``truncated`` wherever it is cut. pydicom reads a cut file without an
  error: ingest must compare each element's declared length with the bytes present.
* A missing UID is missing from the dataset and the file meta, so there is nothing to fall back
  on; an empty Type 1 value counts as missing.
* ``too-large`` is listed but not written (:func:`write_oversized` writes it on demand).
"""

from __future__ import annotations

import math
import struct
import zlib
from collections.abc import Callable
from io import BytesIO
from pathlib import Path

import numpy as np
from pydicom import dcmread, dcmwrite
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.encaps import encapsulate
from pydicom.uid import ExplicitVRLittleEndian, JPEG2000Lossless
from pydicom.valuerep import VR

from acme.samples._common import (
    Patient,
    SamplesError,
    StudyIdentity,
    UidFactory,
    WriteContext,
    file_meta,
    record,
    write_part10,
)
from acme.samples.cxr import radiograph_dataset
from acme.samples.cxr_model import render_cxr
from acme.samples.manifest import CxrFinding, Kind, Pipeline, Reason, SampleFile

_PATIENT = Patient("SYNTHETIC^BAD^INPUT", "SYN-0900", "19990909", "O")
_MISSING = (
    ("missing-study-uid", "StudyInstanceUID"),
    ("missing-series-uid", "SeriesInstanceUID"),
    ("missing-sop-uid", "SOPInstanceUID"),
    ("missing-sop-class-uid", "SOPClassUID"),
    ("missing-modality", "Modality"),
)
_META_FOR = {
    "SOPInstanceUID": "MediaStorageSOPInstanceUID",
    "SOPClassUID": "MediaStorageSOPClassUID",
}
_MAX_PIXEL_BYTES = 0xFFFFFFFE
TOO_LARGE_PATH = "bad/too-large.dcm"
# not-dicom x2 + empty, truncated x2, missing (+ one empty UID), unsupported + corrupt, conflict
BAD_FILE_COUNT = 3 + 2 + (len(_MISSING) + 1) + 2 + 1


def _small_radiograph(
    uids: UidFactory, name: str, number: int, rng: np.random.Generator
) -> Dataset:
    """A valid 256x256 CR of its own study: the raw material every bad file is spoiled from."""
    identity = StudyIdentity.make(uids, f"bad-{name}", _PATIENT, number, "BAD INPUT (SYNTHETIC)")
    return radiograph_dataset(
        identity,
        sop_uid=uids.uid(f"bad-{name}", "sop"),
        image=render_cxr(CxrFinding.NORMAL, rng=rng, size=256),
        modality="CR",
        photometric="MONOCHROME2",
    )


def _part10_bytes(ds: Dataset) -> bytes:
    buffer = BytesIO()
    dcmwrite(buffer, ds, enforce_file_format=True)
    return buffer.getvalue()


def _write_loose_meta(ds: Dataset, path: Path) -> None:
    """Write a Part 10 file whose file meta may lack required elements."""
    ds.file_meta.FileMetaInformationGroupLength = 0  # pydicom fills in the real length
    ds.file_meta.FileMetaInformationVersion = b"\x00\x01"
    ds.preamble = b"\0" * 128
    dcmwrite(path, ds, enforce_file_format=False)


def _png(width: int, height: int) -> bytes:
    """A small valid greyscale PNG, written by hand."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\0" + bytes((x * 255 // width) for x in range(width)) for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 9))
        + chunk(b"IEND", b"")
    )


def _write_not_dicom(ctx: WriteContext, bad: Path) -> None:
    for name, reason, data, what in (
        ("not-dicom.png", Reason.NOT_DICOM, _png(64, 64), "A PNG image, not DICOM."),
        (
            "not-dicom.txt",
            Reason.NOT_DICOM,
            b"Acme sample: plain text, not DICOM.\n",
            "A text file.",
        ),
        ("empty.dcm", Reason.EMPTY, b"", "A zero-byte object (a failed upload)."),
    ):
        (bad / name).write_bytes(data)
        record(ctx, bad / name, category=str(reason), description=what, reason=reason)


def _write_truncated(ctx: WriteContext, bad: Path) -> None:
    for number, name, keyword, what in (
        (901, "truncated-pixel-data", "PixelData", "Cut halfway through the pixel data."),
        (902, "truncated-header", "ImageComments", "Cut inside ImageComments, before Rows."),
    ):
        ds = _small_radiograph(ctx.uids, name, number, ctx.rng("bad", name))
        whole = _part10_bytes(ds)
        element: object = dcmread(BytesIO(whole)).get_item(keyword)
        if not isinstance(element, RawDataElement) or element.value_tell is None:
            raise SamplesError(f"{name}: {keyword} not found in the encoded file")
        path = bad / f"{name}.dcm"
        path.write_bytes(whole[: element.value_tell + element.length // 2])
        record(ctx, path, category="truncated", description=what, ds=ds, reason=Reason.TRUNCATED)


def _write_missing(ctx: WriteContext, bad: Path) -> None:
    cases = [(name, keyword, False) for name, keyword in _MISSING]
    cases.append(("empty-study-uid", "StudyInstanceUID", True))
    for number, (name, keyword, keep_empty) in enumerate(cases, start=910):
        ds = _small_radiograph(ctx.uids, name, number, ctx.rng("bad", name))
        if keep_empty:
            ds[keyword].value = ""
        else:
            delattr(ds, keyword)
            if keyword in _META_FOR:
                delattr(ds.file_meta, _META_FOR[keyword])
        path = bad / f"{name}.dcm"
        _write_loose_meta(ds, path)
        state = "present but empty" if keep_empty else "absent from dataset and file meta"
        reason = f"{Reason.MISSING_ATTRIBUTE}:{keyword}"
        record(
            ctx,
            path,
            category="missing-attribute",
            description=f"{keyword} {state}.",
            ds=ds,
            reason=reason,
        )


def _write_syntax(ctx: WriteContext, bad: Path) -> None:
    ds = _small_radiograph(ctx.uids, "unsupported-syntax", 920, ctx.rng("bad", "syntax"))
    ds.file_meta.TransferSyntaxUID = ctx.uids.uid("bad-unsupported-syntax", "transfer-syntax")
    path = bad / "unsupported-syntax.dcm"
    dcmwrite(path, ds, implicit_vr=False, little_endian=True, enforce_file_format=True)
    what = "A made-up private transfer syntax UID (the body is explicit VR little endian)."
    record(
        ctx,
        path,
        category="unsupported-syntax",
        description=what,
        ds=ds,
        reason=Reason.UNSUPPORTED_SYNTAX,
    )

    ds = _small_radiograph(ctx.uids, "corrupt-j2k", 921, ctx.rng("bad", "corrupt-j2k"))
    garbage = ctx.rng("bad", "garbage").integers(0, 256, 4096, dtype=np.uint8).tobytes()
    ds.PixelData = encapsulate([b"\x00\x00" + garbage[2:]])
    ds["PixelData"].VR = VR.OB
    ds.file_meta = file_meta(ds, JPEG2000Lossless)
    path = bad / "corrupt-j2k.dcm"
    write_part10(ds, path)
    what = "JPEG 2000 lossless declared; the one fragment is random bytes, not a codestream."
    record(
        ctx,
        path,
        category="corrupt-pixel-data",
        description=what,
        ds=ds,
        reason=Reason.CORRUPT_PIXEL_DATA,
    )


def _write_conflict(ctx: WriteContext, bad: Path, original: SampleFile) -> None:
    ds = dcmread(ctx.root / original.path)
    pixels = ds.pixel_array.copy()
    pixels[: pixels.shape[0] // 8] = 0
    ds.PixelData = pixels.tobytes()
    ds.ImageComments = f"Same SOP Instance UID as {original.path}, different content."
    path = bad / "uid-conflict.dcm"
    write_part10(ds, path)
    what = f"Reuses the SOP Instance UID of {original.path} with different bytes; send after it."
    record(ctx, path, category="uid-conflict", description=what, ds=ds, reason=Reason.UID_CONFLICT)


def _oversized_dataset(uids: UidFactory) -> Dataset:
    """The oversized file's dataset; the caller sets its size and appends the pixel data."""
    ds = _small_radiograph(uids, "too-large", 930, np.random.default_rng(0))
    del ds.PixelData
    return ds


def too_large_entry(uids: UidFactory) -> SampleFile:
    """The manifest entry for the oversized file, which is only written on demand."""
    ds = _oversized_dataset(uids)
    return SampleFile(
        path=TOO_LARGE_PATH,
        kind=Kind.BAD,
        category="too-large",
        description="Not written: call write_oversized(path, larger_than=<ingest size limit>).",
        materialised=False,
        study_uid=ds.StudyInstanceUID,
        series_uid=ds.SeriesInstanceUID,
        sop_uid=ds.SOPInstanceUID,
        modality=ds.Modality,
        transfer_syntax=ExplicitVRLittleEndian,
        expected_pipeline=Pipeline.NONE,
        expected_reason=Reason.TOO_LARGE,
    )


def write_oversized(path: Path, *, larger_than: int, seed: int = 0) -> int:
    """Write the manifest's ``bad/too-large.dcm`` at ``path``, more than ``larger_than`` bytes.

    A valid header whose square 16-bit image holds the rest; the pixel data is a sparse hole, so
    this is quick and takes little disk even for gigabytes. Returns the file size.
    """
    side = max(16, math.ceil(math.sqrt((larger_than + 1) / 2)))
    side += side % 2
    if side > 0xFFFF or side * side * 2 > _MAX_PIXEL_BYTES:
        raise SamplesError(
            f"larger_than: at most about {_MAX_PIXEL_BYTES} bytes, got {larger_than}"
        )
    ds = _oversized_dataset(UidFactory(seed))
    ds.Rows = ds.Columns = side
    length = side * side * 2
    header = _part10_bytes(ds) + struct.pack("<HH2sHI", 0x7FE0, 0x0010, b"OW", 0, length)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fp:
        fp.write(header)
        fp.truncate(len(header) + length)
    return len(header) + length


def write_bad_corpus(ctx: WriteContext, *, conflict_with: SampleFile) -> SampleFile:
    """Write every bad file; returns the on-demand ``too-large`` entry for the manifest."""
    bad = ctx.root / "bad"
    bad.mkdir(parents=True, exist_ok=True)
    writers: tuple[Callable[[WriteContext, Path], None], ...] = (
        _write_not_dicom,
        _write_truncated,
        _write_missing,
        _write_syntax,
    )
    for write in writers:
        write(ctx, bad)
    _write_conflict(ctx, bad, conflict_with)
    return too_large_entry(ctx.uids)
