"""dicom-ingest on the running platform: notifications, router, tick and the function process."""

from __future__ import annotations

import random
import time
from pathlib import Path

from acme_platform import running_platform, wait_until
from jetstream import published
from routing import fast_routing

from acme.db import Pool, make_pool
from acme.events import EventType
from acme.inbox import send_files
from acme.samples import SampleManifest
from acme.settings import Settings
from acme.storage import S3ObjectStore, make_s3_client


def _db(settings: Settings) -> Pool:
    return make_pool(settings, application_name="test")


def _count(pool: Pool, sql: str) -> int:
    with pool.connection() as conn:
        row = conn.execute(sql).fetchone()
    return int(row[0]) if row else 0


def test_shuffled_studies_sent_twice_end_archived_once_and_completed_once(
    tmp_path: Path, samples: tuple[Path, SampleManifest]
) -> None:
    folder, manifest = samples
    files = [(folder / e.path, Path(e.path)) for e in manifest.files if e.materialised]
    random.Random(11).shuffle(files)
    good = manifest.good()
    ct_count = sum(1 for e in good if e.modality == "CT")
    extra = {
        "ACME_FUNCTIONS": "dicom-ingest",
        "ACME_ROUTING_FILE": str(fast_routing(tmp_path)),
        "ACME_TICK_SECONDS": "1",
    }
    with running_platform(tmp_path / "home", extra=extra) as settings:
        store = S3ObjectStore(make_s3_client(settings))
        db = _db(settings)
        series = {e.series_uid for e in good}
        began = time.monotonic()
        first = send_files(store, settings.buckets.inbox, files, prefix="first")
        ct_seconds = wait_until(
            lambda: (
                _count(
                    db,
                    "SELECT count(*) FROM instances i JOIN series s USING (series_uid)"
                    " WHERE s.modality = 'CT'",
                )
                == ct_count
            ),
            120,
            "the CT series indexed",
        )
        _wait_settled(db, store, settings, series)
        # a series whose slices came further apart than its stable age completed, then was
        # reopened by the next slice: legitimate, so what counts is what the second send adds
        completions = len(published(settings, EventType.SERIES_COMPLETED))
        second = send_files(store, settings.buckets.inbox, files, prefix="second")
        assert not first.failed and not second.failed
        _wait_settled(db, store, settings, series)
        time.sleep(3)  # a few more ticks: nothing may complete twice
        elapsed = time.monotonic() - began
        assert len(published(settings, EventType.SERIES_COMPLETED)) == completions, (
            "the second send completed a series again"
        )
        _check_outcome(settings, store, db, manifest, series)
        db.close()
    print(f"\nCT: {ct_count} instances indexed in {ct_seconds:.1f}s "
          f"({ct_count / ct_seconds:.1f} instances/s, shuffled among {len(files)} files); "
          f"all done in {elapsed:.1f}s")  # fmt: skip


def _wait_settled(db: Pool, store: S3ObjectStore, settings: Settings, series: set[str]) -> None:
    wait_until(
        lambda: _count(db, "SELECT count(*) FROM series WHERE completed_at IS NOT NULL")
        == len(series)
        and not list(store.list(settings.buckets.inbox)),
        180, "every series completed and the inbox empty",
    )  # fmt: skip


def _check_outcome(
    settings: Settings, store: S3ObjectStore, db: Pool, manifest: SampleManifest, series: set[str]
) -> None:
    good = manifest.good()
    assert _count(db, "SELECT count(*) FROM instances") == len(good)
    objects = list(store.list(settings.buckets.archive))
    archived = [o for o in objects if o.key.endswith(".dcm")]
    assert len(archived) == len(good)
    assert all(o.key.startswith("studies/") and o.key.count("/") == 4 for o in archived)
    originals = [o for o in objects if not o.key.endswith(".dcm")]
    bare = [e for e in good if "no-preamble" in e.path]
    assert len(originals) == len(bare) and all(o.key.endswith(".original") for o in originals)
    completed = published(settings, EventType.SERIES_COMPLETED)
    assert {e.data["series_uid"] for e in completed} == series
    last = {}
    for event in sorted(completed, key=lambda e: e.data["completion"]):
        last[event.data["series_uid"]] = event.data
    counts = {uid: sum(1 for e in good if e.series_uid == uid) for uid in series}
    assert {uid: data["instance_count"] for uid, data in last.items()} == counts
    assert all(  # each completion once: numbered 1, 2, ... without a repeat
        sorted(e.data["completion"] for e in completed if e.data["series_uid"] == uid)
        == list(range(1, 1 + sum(1 for e in completed if e.data["series_uid"] == uid)))
        for uid in series
    )
    expected = {e.series_uid: e.expected_pipeline for e in good}
    assert all(e.data["pipeline"] == expected[e.data["series_uid"]] for e in completed)
    assert all(e["pipeline"] == e.data["pipeline"] for e in completed)
    with db.connection() as conn:
        reasons = conn.execute("SELECT source_key, reason_code FROM quarantine_entries").fetchall()
    by_name = {key.split("/", 1)[1]: reason for key, reason in reasons}
    for entry in manifest.bad():
        if entry.materialised:
            assert by_name[entry.path] == entry.expected_reason, entry.path
    assert len(published(settings, EventType.INSTANCE_STORED)) == len(good)


def test_an_object_whose_notification_is_lost_is_still_ingested(
    tmp_path: Path, samples: tuple[Path, SampleManifest]
) -> None:
    folder, manifest = samples
    entry = next(e for e in manifest.good() if e.modality == "DX")
    extra = {
        "ACME_FUNCTIONS": "dicom-ingest",
        "ACME_BUCKET_EVENTS_TRANSPORT": "none",  # notifications switched off
        "ACME_INBOX_GRACE_SECONDS": "2",
        "ACME_TICK_SECONDS": "1",
    }
    with running_platform(tmp_path / "home", extra=extra) as settings:
        store = S3ObjectStore(make_s3_client(settings))
        db = _db(settings)
        store.put(settings.buckets.inbox, "lost/x.dcm", (folder / entry.path).read_bytes())
        took = wait_until(  # indexed, then removed from the inbox
            lambda: (
                _count(db, "SELECT count(*) FROM instances") == 1
                and not list(store.list(settings.buckets.inbox))
            ),
            60,
            "the sweep",
        )
        db.close()
    assert took >= 1.0, "not before the grace period (S3 times have 1 s resolution)"
