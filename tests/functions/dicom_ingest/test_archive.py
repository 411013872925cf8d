"""No archive object without its index row, whatever fails after the checks; instances of
one series archived side by side."""

from __future__ import annotations

import threading
from io import BytesIO
from pathlib import Path

import pytest
from dicom_ingest import archive as archive_module
from dicom_ingest.ingest import ingest_object
from dicom_ingest.inspect import Inspected
from pydicom import dcmread
from pydicom.uid import generate_uid

from acme.function import Context
from acme.samples import SampleManifest


def _archive_keys(ctx: Context) -> list[str]:
    return [o.key for o in ctx.store.list(ctx.settings.buckets.archive)]


def _indexed(ctx: Context) -> list[str]:
    with ctx.db.connection() as conn:
        return [str(r[0]) for r in conn.execute("SELECT archive_key FROM instances").fetchall()]


def test_a_series_uid_under_another_study_leaves_no_archive_object(
    ctx: Context, samples: tuple[Path, SampleManifest]
) -> None:
    folder, manifest = samples
    entry = next(e for e in manifest.good() if e.modality == "CT")
    data = (folder / entry.path).read_bytes()
    ds = dcmread(BytesIO(data))
    ds.StudyInstanceUID, ds.SOPInstanceUID = generate_uid(), generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    stray = BytesIO()
    ds.save_as(stray)
    inbox = ctx.settings.buckets.inbox
    ctx.store.put(inbox, "first.dcm", data)
    ctx.store.put(inbox, "stray.dcm", stray.getvalue())

    assert ingest_object(ctx, inbox, "first.dcm", None) == "stored"
    assert ingest_object(ctx, inbox, "stray.dcm", None) == "quarantined"

    assert _archive_keys(ctx) == _indexed(ctx), "one object, the one indexed"


def test_a_failure_after_the_archive_write_removes_it(
    ctx: Context, samples: tuple[Path, SampleManifest], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder, manifest = samples
    entry = next(e for e in manifest.good() if "no-preamble" in e.path)  # copy + original
    inbox = ctx.settings.buckets.inbox
    ctx.store.put(inbox, "bare.dcm", (folder / entry.path).read_bytes())
    real_record = archive_module.ledger.record

    def commit_fails(*args: object, **kwargs: object) -> object:
        raise RuntimeError("the commit did not happen")

    monkeypatch.setattr(archive_module.ledger, "record", commit_fails)
    with pytest.raises(RuntimeError):
        ingest_object(ctx, inbox, "bare.dcm", None)

    assert _archive_keys(ctx) == [] and _indexed(ctx) == []
    assert [o.key for o in ctx.store.list(inbox)] == ["bare.dcm"], "kept for the next try"
    monkeypatch.setattr(archive_module.ledger, "record", real_record)

    assert ingest_object(ctx, inbox, "bare.dcm", None) == "stored"
    [key] = _indexed(ctx)
    assert sorted(_archive_keys(ctx)) == sorted([key, archive_module.original_key(key)])


def test_instances_of_one_series_upload_side_by_side(
    ctx: Context, samples: tuple[Path, SampleManifest], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The series row is locked only for the index statements: a second instance of the
    series is archived and indexed while the first is still uploading its object."""
    folder, manifest = samples
    first, *others = [e for e in manifest.good() if e.modality == "CT" and e.series_uid]
    second = next(e for e in others if e.series_uid == first.series_uid)
    inbox = ctx.settings.buckets.inbox
    ctx.store.put(inbox, "first.dcm", (folder / first.path).read_bytes())
    ctx.store.put(inbox, "second.dcm", (folder / second.path).read_bytes())
    uploading, go_on = threading.Event(), threading.Event()
    real_write = archive_module._write

    def slow_first(ctx: Context, key: str, inspected: Inspected) -> None:
        if inspected.header.sop_uid == first.sop_uid:
            uploading.set()
            go_on.wait(timeout=60)
        real_write(ctx, key, inspected)

    monkeypatch.setattr(archive_module, "_write", slow_first)
    outcomes: dict[str, str] = {}

    def ingest(key: str) -> None:
        outcomes[key] = ingest_object(ctx, inbox, key, None)

    slow = threading.Thread(target=ingest, args=("first.dcm",))
    slow.start()
    try:
        assert uploading.wait(timeout=30)
        quick = threading.Thread(target=ingest, args=("second.dcm",))
        quick.start()
        quick.join(timeout=20)
        assert not quick.is_alive(), "the second instance waited for the first one's upload"
        assert outcomes["second.dcm"] == "stored"
    finally:
        go_on.set()
        slow.join(timeout=60)
    assert outcomes["first.dcm"] == "stored"
    assert sorted(_archive_keys(ctx)) == sorted(_indexed(ctx))
