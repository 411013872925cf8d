"""Files modalities write in the wild (pydicom's test files): accepted when they decode.

Each defect found by sending that corpus has its test here: an image without a final
sequence delimiter is archived, a big-endian file without file meta settles, a file only
GDCM decodes is accepted, and a lossless transcode under the same SOP Instance UID is a
duplicate while a real change is a conflict.
"""

from __future__ import annotations

from io import BytesIO

import numpy as np
import pytest
from dicom_ingest.archive import original_key
from dicom_ingest.ingest import ingest_object
from dicom_ingest.inspect import inspect
from dicom_ingest.pixels import decode_frame
from jetstream import published
from pydicom import dcmread
from pydicom.data import get_testdata_file
from pydicom.uid import ExplicitVRBigEndian

from acme import ledger
from acme.events import EventType, canonical_archive_key
from acme.function import Context


def pydicom_file(name: str) -> bytes:
    path = get_testdata_file(name, download=False)
    assert path is not None, f"{name} ships with pydicom or pydicom-data"
    with open(path, "rb") as fp:
        return fp.read()


def send(ctx: Context, key: str, data: bytes) -> str:
    ctx.store.put(ctx.settings.buckets.inbox, key, data)
    return ingest_object(ctx, ctx.settings.buckets.inbox, key, None)


def entry_of(ctx: Context, key: str) -> ledger.LedgerEntry:
    return ledger.latest_by_key(ctx.db, ctx.settings.buckets.inbox, [key])[key]


@pytest.mark.parametrize(
    "name", ["MR_small_jpeg_ls_lossless.dcm", "MR_small_RLE.dcm", "MR_small_jp2klossless.dcm"]
)
def test_an_mr_image_without_a_final_delimiter_is_archived(ctx: Context, name: str) -> None:
    data = pydicom_file(name)
    assert not data.rstrip(b"\x00").endswith(b"\xfe\xff\xdd\xe0"), "no sequence delimiter"

    assert send(ctx, f"mr/{name}", data) == "stored"

    ds = dcmread(BytesIO(data))
    key = canonical_archive_key(ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID)
    assert ctx.store.get(ctx.settings.buckets.archive, key) == data, "archived as it came"
    assert entry_of(ctx, f"mr/{name}").sop_uid == ds.SOPInstanceUID


def test_encapsulated_pixel_data_cut_inside_a_fragment_is_truncated(ctx: Context) -> None:
    data = pydicom_file("MR_small_jp2klossless.dcm")
    pixels = dcmread(BytesIO(data)).get_item("PixelData")
    assert pixels.value_tell is not None
    cut = pixels.value_tell + len(pixels.value) - 50  # inside the last fragment
    assert send(ctx, "cut.dcm", data[:cut]) == "quarantined"
    entry = entry_of(ctx, "cut.dcm")
    assert entry.quarantine is not None and entry.quarantine.reason_code == "truncated"
    assert "inside its first element or pixel data item" in entry.quarantine.detail


def test_a_big_endian_file_without_file_meta_settles_as_a_part10_copy(ctx: Context) -> None:
    data = pydicom_file("ExplVR_BigEndNoMeta.dcm")

    assert send(ctx, "no-meta/big-endian.dcm", data) == "stored"

    ds = dcmread(BytesIO(data), force=True)
    key = canonical_archive_key(ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID)
    archive = ctx.settings.buckets.archive
    copy = dcmread(BytesIO(ctx.store.get(archive, key)))  # a Part 10 file: no force needed
    assert copy.file_meta.TransferSyntaxUID == ExplicitVRBigEndian
    assert copy == ds, "the dataset is unchanged"
    assert ctx.store.get(archive, original_key(key)) == data, "the original is kept beside it"
    [stored] = published(ctx.settings, EventType.INSTANCE_STORED)
    assert stored.data["transfer_syntax"] == ExplicitVRBigEndian
    assert list(ctx.store.list(ctx.settings.buckets.inbox)) == []


def test_an_image_only_gdcm_decodes_is_accepted(ctx: Context) -> None:
    lossy = dcmread(BytesIO(pydicom_file("JPEG-lossy.dcm")))  # 12-bit JPEG Extended
    with pytest.raises(RuntimeError):
        _ = lossy.pixel_array  # pydicom's plugins, GDCM's included, refuse it
    frame = decode_frame(lossy, 0)
    fixed = dcmread(BytesIO(pydicom_file("JPGExtended.dcm"))).pixel_array  # its repaired twin
    assert frame.shape == fixed.shape == (1024, 256)
    assert np.abs(frame.astype(int) - fixed.astype(int)).mean() < 0.1

    assert send(ctx, "gdcm-only.dcm", pydicom_file("JPEG-lossy.dcm")) == "stored"


def test_broken_jpeg_2000_is_still_corrupt(ctx: Context) -> None:
    assert send(ctx, "j2k.dcm", pydicom_file("JPEG2000-embedded-sequence-delimiter.dcm")) == (
        "quarantined"
    )
    entry = entry_of(ctx, "j2k.dcm")
    assert entry.quarantine is not None
    assert entry.quarantine.reason_code == "corrupt-pixel-data"
    assert "GDCM failed too" in entry.quarantine.detail


def test_a_file_without_meta_in_implicit_little_endian_is_archived() -> None:
    data = pydicom_file("OT-PAL-8-face.dcm")
    inspected = inspect(data)
    assert inspected.original == data
    assert dcmread(BytesIO(inspected.archived)).pixel_array.shape == (480, 640)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("MR_small.dcm", "MR_small_jp2klossless.dcm"),
        ("emri_small_jpeg_ls_lossless.dcm", "emri_small_big_endian.dcm"),
        ("693_UNCR.dcm", "693_J2KR.dcm"),
        ("ExplVR_LitEndNoMeta.dcm", "ExplVR_BigEndNoMeta.dcm"),  # no pixel data: the dataset
    ],
)
def test_a_lossless_transcode_is_a_duplicate_not_a_conflict(
    ctx: Context, first: str, second: str
) -> None:
    assert send(ctx, first, pydicom_file(first)) == "stored"

    assert send(ctx, second, pydicom_file(second)) == "duplicate"

    entry = entry_of(ctx, second)
    assert entry.sop_uid == entry_of(ctx, first).sop_uid and entry.quarantine is None
    assert published(ctx.settings, EventType.INSTANCE_REJECTED) == []
    assert len(published(ctx.settings, EventType.INSTANCE_STORED)) == 1
    assert list(ctx.store.list(ctx.settings.buckets.inbox)) == []


@pytest.mark.parametrize(
    ("first", "second", "why"),
    [
        ("SC_rgb.dcm", "SC_rgb_16bit.dcm", "the decoded pixel data differs (frame 0)"),
        ("SC_rgb.dcm", "SC_rgb_2frame.dcm", "the number of frames differs"),
        ("reportsi.dcm", "reportsi_with_empty_number_tags.dcm", "the datasets differ"),
    ],
)
def test_other_content_under_an_archived_uid_is_a_conflict(
    ctx: Context, first: str, second: str, why: str
) -> None:
    assert send(ctx, first, pydicom_file(first)) == "stored"

    assert send(ctx, second, pydicom_file(second)) == "quarantined"

    entry = entry_of(ctx, second)
    assert entry.quarantine is not None and entry.quarantine.reason_code == "uid-conflict"
    assert why in entry.quarantine.detail
