"""Series completion on tick: once per series, routed by rules, even with two replicas;
and the inbox sweep that rescues objects whose notification was lost."""

from __future__ import annotations

import random
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from dicom_ingest.completion import complete_series
from dicom_ingest.ingest import ingest_object
from dicom_ingest.routing import RoutingConfig, load_routing
from dicom_ingest.sweep import sweep_inbox
from jetstream import published

from acme.events import EventType
from acme.function import Context
from acme.samples import SampleManifest

BUNDLED = Path(__file__).resolve().parents[3] / "functions" / "dicom-ingest" / "routing.yml"


def _fast(routing: RoutingConfig) -> RoutingConfig:
    """The bundled rules with every stable age at 1 s."""
    return routing.model_copy(
        update={"stable_age_seconds": dict.fromkeys(routing.stable_age_seconds, 1.0)}
    )


def _drop_all(
    ctx: Context, folder: Path, manifest: SampleManifest, good_only: bool = True
) -> list[str]:
    entries = manifest.good() if good_only else manifest.files
    keys = []
    for i, entry in enumerate(entries):
        key = f"drop/{i:04d}-{Path(entry.path).name}"
        ctx.store.put(ctx.settings.buckets.inbox, key, (folder / entry.path).read_bytes())
        keys.append(key)
    return keys


def test_series_complete_once_with_the_right_pipeline(
    ctx: Context, samples: tuple[Path, SampleManifest]
) -> None:
    folder, manifest = samples
    keys = _drop_all(ctx, folder, manifest)
    random.Random(7).shuffle(keys)
    for key in keys:
        ingest_object(ctx, ctx.settings.buckets.inbox, key, None)
    bundled = load_routing(BUNDLED)
    patient = bundled.model_copy(update={"stable_age_seconds": {"default": 3600.0}})
    assert complete_series(ctx, patient, None) == [], "nothing is stable for an hour"
    routing = _fast(bundled)
    time.sleep(1.2)

    completed = complete_series(ctx, routing, None)
    assert complete_series(ctx, routing, None) == [], "a series completes exactly once"

    expected = {s.series_uid: s for s in manifest.good()}
    by_series = {c.series_uid: c for c in completed}
    assert set(by_series) == set(expected)
    for series_uid, data in by_series.items():
        assert data.pipeline == expected[series_uid].expected_pipeline, series_uid
        assert data.instance_count == len(
            [f for f in manifest.good() if f.series_uid == series_uid]
        )
    chest_ct = [c for c in completed if c.modality == "CT" and c.pipeline == "ct"]
    assert chest_ct and {c.instance_count for c in chest_ct} == {100}  # the QA phantoms: ct-qa
    events = published(ctx.settings, EventType.SERIES_COMPLETED)
    assert len(events) == len(expected)
    assert {e["pipeline"] for e in events} == {"cxr", "ct"}
    with ctx.db.connection() as conn:
        states = {row[0] for row in conn.execute("SELECT state FROM studies").fetchall()}
    assert states == {"complete"}


def test_two_replicas_make_no_duplicates_and_no_double_completion(
    ctx: Context, samples: tuple[Path, SampleManifest]
) -> None:
    folder, manifest = samples
    keys = _drop_all(ctx, folder, manifest)
    other = Context.open("dicom-ingest", ctx.settings)
    try:
        replicas = [ctx, other]
        # Both replicas get every notification (at-least-once delivery, twice over).
        jobs = [(replica, key) for key in keys for replica in replicas]
        random.Random(3).shuffle(jobs)
        with ThreadPoolExecutor(max_workers=4) as pool:
            list(
                pool.map(
                    lambda job: ingest_object(job[0], ctx.settings.buckets.inbox, job[1], None),
                    jobs,
                )
            )
        time.sleep(1.2)
        routing = _fast(load_routing(BUNDLED))
        with ThreadPoolExecutor(max_workers=2) as pool:
            results = list(pool.map(lambda r: complete_series(r, routing, None), replicas * 3))
    finally:
        other.close()
    completions = [c.series_uid for batch in results for c in batch]
    assert sorted(completions) == sorted({e.series_uid for e in manifest.good()})
    with ctx.db.connection() as conn:
        instances = conn.execute("SELECT count(*) FROM instances").fetchone()
        counts = conn.execute("SELECT sum(instance_count) FROM series").fetchone()
    assert instances == (len(manifest.good()),)
    assert counts == (len(manifest.good()),)
    assert len(published(ctx.settings, EventType.INSTANCE_STORED)) == len(manifest.good())
    assert len(published(ctx.settings, EventType.SERIES_COMPLETED)) == len(completions)


def test_the_sweep_ingests_objects_whose_notification_was_lost(
    ctx: Context, samples: tuple[Path, SampleManifest]
) -> None:
    folder, manifest = samples
    entry = next(e for e in manifest.good() if e.modality == "CR")
    bad = next(e for e in manifest.bad() if e.expected_reason == "not-dicom")
    ctx.store.put(ctx.settings.buckets.inbox, "lost/one.dcm", (folder / entry.path).read_bytes())
    ctx.store.put(ctx.settings.buckets.inbox, "lost/two.png", (folder / bad.path).read_bytes())
    patient = Context.open(
        ctx.name, ctx.settings.model_copy(update={"inbox_grace_seconds": 3600.0})
    )
    try:
        assert sweep_inbox(patient, None) == {}, "objects younger than the grace period wait"
    finally:
        patient.close()

    assert sweep_inbox(ctx, None) == {"stored": 1, "quarantined": 1}
    assert list(ctx.store.list(ctx.settings.buckets.inbox)) == []
    assert len(published(ctx.settings, EventType.INSTANCE_STORED)) == 1
