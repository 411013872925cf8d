"""Ingest of single objects against the real servers: archive, index, quarantine, dedupe."""

from __future__ import annotations

import json
from io import BytesIO
from pathlib import Path

import pytest
from dicom_ingest.ingest import ingest_object
from jetstream import published
from pydicom import dcmread

from acme.errors import StorageError
from acme.events import EventType, canonical_archive_key
from acme.function import Context
from acme.samples import SampleManifest


def _drop(ctx: Context, key: str, data: bytes) -> None:
    ctx.store.put(ctx.settings.buckets.inbox, key, data)


def _inbox_keys(ctx: Context) -> list[str]:
    return [o.key for o in ctx.store.list(ctx.settings.buckets.inbox)]


def _count(ctx: Context, table: str) -> int:
    with ctx.db.connection() as conn:
        row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
    assert row is not None
    return int(row[0])


def _first(manifest: SampleManifest, modality: str) -> object:
    return next(e for e in manifest.good() if e.modality == modality)


def test_a_good_instance_is_archived_indexed_and_leaves_the_inbox(
    ctx: Context, samples: tuple[Path, SampleManifest]
) -> None:
    folder, manifest = samples
    entry = next(e for e in manifest.good() if e.modality == "CT")
    data = (folder / entry.path).read_bytes()
    _drop(ctx, "modality-1/slice 001.dcm", data)

    outcome = ingest_object(ctx, ctx.settings.buckets.inbox, "modality-1/slice 001.dcm", None)
    assert outcome == "stored"

    key = canonical_archive_key(str(entry.study_uid), str(entry.series_uid), str(entry.sop_uid))
    assert ctx.store.get(ctx.settings.buckets.archive, key) == data
    assert _inbox_keys(ctx) == []
    with ctx.db.connection() as conn:
        row = conn.execute(
            "SELECT i.archive_key, s.modality, st.state, s.instance_count FROM instances i"
            " JOIN series s USING (series_uid) JOIN studies st USING (study_uid)"
            " WHERE i.sop_uid = %s",
            (entry.sop_uid,),
        ).fetchone()
    assert row == (key, "CT", "receiving", 1)
    [stored] = published(ctx.settings, EventType.INSTANCE_STORED)
    assert (
        stored["subject"]
        == f"studies/{entry.study_uid}/series/{entry.series_uid}/instances/{entry.sop_uid}"
    )
    assert stored.data["archive_key"] == key
    assert stored.data["source_key"] == "modality-1/slice 001.dcm"


def test_the_same_bytes_again_change_nothing(
    ctx: Context, samples: tuple[Path, SampleManifest]
) -> None:
    folder, manifest = samples
    entry = next(e for e in manifest.good() if e.modality == "CR")
    data = (folder / entry.path).read_bytes()
    outcomes = []
    for key in ["a.dcm", "b.dcm", "a.dcm"]:
        _drop(ctx, key, data)
        outcomes.append(ingest_object(ctx, ctx.settings.buckets.inbox, key, None))
    # The same bytes under the same key within the same second (S3 times have 1 s resolution)
    # are the same object to S3: settled again as it was, or a duplicate. Nothing changes.
    assert outcomes[:2] == ["stored", "duplicate"] and outcomes[2] in ("stored", "duplicate")
    assert _inbox_keys(ctx) == []
    assert (_count(ctx, "instances"), _count(ctx, "series"), _count(ctx, "studies")) == (1, 1, 1)
    with ctx.db.connection() as conn:
        row = conn.execute("SELECT instance_count FROM series").fetchone()
    assert row == (1,)
    assert len(published(ctx.settings, EventType.INSTANCE_STORED)) == 1, (
        "same event id: deduplicated"
    )
    # a notification for an object already ingested and removed is a no-op
    assert ingest_object(ctx, ctx.settings.buckets.inbox, "a.dcm", None) == "gone"


def test_other_bytes_under_a_known_uid_are_a_conflict(
    ctx: Context, samples: tuple[Path, SampleManifest]
) -> None:
    folder, manifest = samples
    conflict = next(e for e in manifest.bad() if e.expected_reason == "uid-conflict")
    original = next(e for e in manifest.good() if e.sop_uid == conflict.sop_uid)
    original_bytes = (folder / original.path).read_bytes()
    _drop(ctx, "original.dcm", original_bytes)
    ingest_object(ctx, ctx.settings.buckets.inbox, "original.dcm", None)
    _drop(ctx, "conflict.dcm", (folder / conflict.path).read_bytes())

    assert ingest_object(ctx, ctx.settings.buckets.inbox, "conflict.dcm", None) == "quarantined"

    key = canonical_archive_key(
        str(original.study_uid), str(original.series_uid), str(original.sop_uid)
    )
    assert ctx.store.get(ctx.settings.buckets.archive, key) == original_bytes, (
        "archive is immutable"
    )
    [rejected] = published(ctx.settings, EventType.INSTANCE_REJECTED)
    assert rejected.data["reason_code"] == "uid-conflict"
    assert rejected.data["sop_uid"] == original.sop_uid
    assert _count(ctx, "instances") == 1


def test_every_bad_file_is_quarantined_with_its_reason(
    ctx: Context, samples: tuple[Path, SampleManifest]
) -> None:
    folder, manifest = samples
    bad = [e for e in manifest.bad() if e.materialised and e.expected_reason != "uid-conflict"]
    for entry in bad:
        _drop(ctx, f"bad/{entry.path}", (folder / entry.path).read_bytes())
        assert (
            ingest_object(ctx, ctx.settings.buckets.inbox, f"bad/{entry.path}", None)
            == "quarantined"
        )

    assert _inbox_keys(ctx) == []
    assert _count(ctx, "instances") == 0
    rejected = {e.data["key"]: e.data for e in published(ctx.settings, EventType.INSTANCE_REJECTED)}
    with ctx.db.connection() as conn:
        entries = dict(
            conn.execute("SELECT source_key, reason_code FROM quarantine_entries").fetchall()
        )
    for entry in bad:
        key = f"bad/{entry.path}"
        assert rejected[key]["reason_code"] == entry.expected_reason
        assert entries[key] == entry.expected_reason
        qkey = rejected[key]["quarantine_key"]
        quarantine = ctx.settings.buckets.quarantine
        assert ctx.store.get(quarantine, qkey) == (folder / entry.path).read_bytes()
        reason = json.loads(ctx.store.get(quarantine, f"{qkey}.json"))
        assert reason["reason_code"] == entry.expected_reason and reason["detail"]
        assert ".." not in qkey and entry.path not in qkey, (
            "quarantine keys never reuse client keys"
        )


def test_an_object_over_the_size_limit_is_quarantined_unread(
    ctx: Context, samples: tuple[Path, SampleManifest]
) -> None:
    folder, manifest = samples
    entry = next(e for e in manifest.good() if e.modality == "CT")
    small = Context.open(ctx.name, ctx.settings.model_copy(update={"ingest_max_bytes": 1000}))
    try:
        _drop(ctx, "huge.dcm", (folder / entry.path).read_bytes())
        assert ingest_object(small, ctx.settings.buckets.inbox, "huge.dcm", None) == "quarantined"
    finally:
        small.close()
    [rejected] = published(ctx.settings, EventType.INSTANCE_REJECTED)
    assert rejected.data["reason_code"] == "too-large"
    assert "over the limit of 1000" in rejected.data["detail"]


@pytest.mark.parametrize(
    ("key", "server_may_refuse"),
    [
        ("../../etc/passwd", True),
        ("a/../../b/./c.dcm", True),
        ("x" * 1000, True),
        ("deep/" * 150 + "x.dcm", False),
        ("Müller Ärztehaus/Röntgen 東京 #1.dcm", False),
        ("  spaces  and+plus%20.dcm ", False),
    ],
)
def test_hostile_keys_are_handled(
    ctx: Context, samples: tuple[Path, SampleManifest], key: str, server_may_refuse: bool
) -> None:
    folder, manifest = samples
    entry = next(e for e in manifest.good() if e.modality == "DX")
    data = (folder / entry.path).read_bytes()
    try:
        _drop(ctx, key, data)
    except StorageError as refused:
        # Some S3 servers (SeaweedFS) refuse dot segments and over-long names at the door.
        assert server_may_refuse and "HTTP 400" in str(refused)
        assert _inbox_keys(ctx) == []
        return
    assert ingest_object(ctx, ctx.settings.buckets.inbox, key, None) == "stored"
    archived = canonical_archive_key(
        str(entry.study_uid), str(entry.series_uid), str(entry.sop_uid)
    )
    assert (
        dcmread(BytesIO(ctx.store.get(ctx.settings.buckets.archive, archived))).SOPInstanceUID
        == entry.sop_uid
    )
    assert _inbox_keys(ctx) == []
