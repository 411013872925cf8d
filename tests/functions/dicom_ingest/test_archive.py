"""No archive object without its index row, whatever fails after the checks."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

import pytest
from dicom_ingest import archive as archive_module
from dicom_ingest.ingest import ingest_object
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
