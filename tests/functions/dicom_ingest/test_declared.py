"""Completion manifests: a series completes as soon as every listed instance is indexed,
exactly once, even with manifests and instances racing on two replicas; the stable age stays
the fallback; a bad manifest is quarantined."""

from __future__ import annotations

import random
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from dicom_ingest.completion import complete_series
from dicom_ingest.declared import complete_every_declared
from dicom_ingest.ingest import ingest_object
from dicom_ingest.routing import RoutingConfig, load_routing
from jetstream import published

from acme.events import EventType
from acme.function import Context
from acme.samples import SampleManifest
from acme.series_manifest import MANIFEST_SUFFIX, SeriesManifest

BUNDLED = Path(__file__).resolve().parents[3] / "functions" / "dicom-ingest" / "routing.yml"


def _patient() -> RoutingConfig:
    """The bundled rules with a stable age no test waits for: only manifests complete."""
    return load_routing(BUNDLED).model_copy(update={"stable_age_seconds": {"default": 3600.0}})


def _manifests(manifest: SampleManifest) -> dict[str, SeriesManifest]:
    members: dict[tuple[str, str], list[str]] = {}
    for entry in manifest.good():
        assert entry.study_uid and entry.series_uid and entry.sop_uid
        members.setdefault((entry.study_uid, entry.series_uid), []).append(entry.sop_uid)
    return {
        series: SeriesManifest.of(study, series, sops) for (study, series), sops in members.items()
    }


def _completed(ctx: Context) -> Counter[str]:
    return Counter(str(e["subject"]) for e in published(ctx.settings, EventType.SERIES_COMPLETED))


def test_every_series_completes_once_as_its_last_listed_instance_is_indexed(
    ctx: Context, samples: tuple[Path, SampleManifest]
) -> None:
    folder, manifest = samples
    declared = _manifests(manifest)
    inbox = ctx.settings.buckets.inbox
    keys = []
    for i, entry in enumerate(manifest.good()):
        keys.append(f"drop/{i:04d}.dcm")
        ctx.store.put(inbox, keys[-1], (folder / entry.path).read_bytes())
    for series_uid, listed in declared.items():
        keys.append(f"drop/{series_uid}{MANIFEST_SUFFIX}")
        ctx.store.put(inbox, keys[-1], listed.to_json(), content_type="application/json")
    other = Context.open("dicom-ingest", ctx.settings)
    try:
        # every notification twice, to two replicas, manifests among instances in any order
        jobs = [(replica, key) for key in keys for replica in (ctx, other)]
        random.Random(5).shuffle(jobs)
        with ThreadPoolExecutor(max_workers=8) as pool:
            said = list(pool.map(lambda job: ingest_object(job[0], inbox, job[1], None), jobs))
    finally:
        other.close()

    # a replica that finds the manifest settled but still in the inbox announces it again
    # (the same event ids) and says so too; one that comes after its removal finds it gone
    told: dict[str, set[str]] = {}
    for (_, key), outcome in zip(jobs, said, strict=True):
        told.setdefault(key, set()).add(outcome)
    manifests = {key for key in keys if key.endswith(MANIFEST_SUFFIX)}
    for key in keys:
        said_of = "declared" if key in manifests else "stored"
        assert said_of in told[key] and told[key] <= {said_of, "gone"}, (key, told[key])
    completed = _completed(ctx)
    assert len(completed) == len(declared), "every declared series completed"
    assert set(completed.values()) == {1}, "each exactly once"
    # nothing is left for the tick: no second completion by manifest or by stable age
    assert complete_every_declared(ctx, _patient(), None) == []
    assert complete_series(ctx, _patient(), None) == []
    assert set(_completed(ctx).values()) == {1}
    with ctx.db.connection() as conn:
        closed = conn.execute("SELECT closed_by, count(*) FROM series_manifests GROUP BY 1")
        assert closed.fetchall() == [("declared", len(declared))]
        counts = dict(conn.execute("SELECT series_uid, instance_count FROM series").fetchall())
        ledger = conn.execute(
            "SELECT count(*) FROM inbox_ledger WHERE outcome = 'declared'"
        ).fetchone()
    assert counts == {uid: len(listed.sop_uids) for uid, listed in declared.items()}
    assert ledger == (len(declared),)
    assert list(ctx.store.list(inbox)) == [], "manifests leave the inbox like instances"


def test_a_series_missing_a_listed_instance_waits_for_it_or_for_its_stable_age(
    ctx: Context, samples: tuple[Path, SampleManifest]
) -> None:
    folder, manifest = samples
    ct = [e for e in manifest.good() if e.modality == "CT"]
    series_uid = ct[0].series_uid
    assert series_uid is not None
    files = [e for e in ct if e.series_uid == series_uid]
    listed = _manifests(manifest)[series_uid]
    inbox = ctx.settings.buckets.inbox
    ctx.store.put(inbox, f"m/{series_uid}{MANIFEST_SUFFIX}", listed.to_json())
    assert ingest_object(ctx, inbox, f"m/{series_uid}{MANIFEST_SUFFIX}", None) == "declared"
    for i, entry in enumerate(files[:-1]):
        ctx.store.put(inbox, f"i/{i}.dcm", (folder / entry.path).read_bytes())
        assert ingest_object(ctx, inbox, f"i/{i}.dcm", None) == "stored"
    assert _completed(ctx) == Counter(), "one listed instance is still missing"
    assert complete_every_declared(ctx, _patient(), None) == []

    ctx.store.put(inbox, "i/last.dcm", (folder / files[-1].path).read_bytes())
    assert ingest_object(ctx, inbox, "i/last.dcm", None) == "stored"
    assert list(_completed(ctx).values()) == [1], "completed by the last listed instance"

    # fallback: a series whose manifest is never satisfied completes by its stable age
    other = next(e for e in manifest.good() if e.modality != "CT")
    assert other.study_uid and other.series_uid and other.sop_uid
    wanting = SeriesManifest.of(other.study_uid, other.series_uid, [other.sop_uid, "1.2.3.999"])
    ctx.store.put(inbox, f"m/other{MANIFEST_SUFFIX}", wanting.to_json())
    ctx.store.put(inbox, "i/other.dcm", (folder / other.path).read_bytes())
    assert ingest_object(ctx, inbox, f"m/other{MANIFEST_SUFFIX}", None) == "declared"
    assert ingest_object(ctx, inbox, "i/other.dcm", None) == "stored"
    assert len(_completed(ctx)) == 1
    quick = _patient().model_copy(update={"stable_age_seconds": {"default": 0.001}})
    assert [c.series_uid for c in complete_series(ctx, quick, None)] == [other.series_uid]
    with ctx.db.connection() as conn:
        row = conn.execute(
            "SELECT closed_by FROM series_manifests WHERE series_uid = %s", (other.series_uid,)
        ).fetchone()
    assert row == ("stable-age",)
    assert complete_every_declared(ctx, quick, None) == []


def test_a_bad_manifest_is_quarantined_with_what_is_wrong(ctx: Context) -> None:
    inbox = ctx.settings.buckets.inbox
    cases = {
        "not-json": b"{not json",
        "no-uids": b'{"schema": "acme.series-manifest/1", "study_uid": "1.2", "series_uid": "1.3"}',
        "twice": b'{"schema": "acme.series-manifest/1", "study_uid": "1.2", "series_uid": "1.3",'
        b' "sop_uids": ["1.4", "1.4"]}',
        "hostile": b'{"schema": "acme.series-manifest/1", "study_uid": "1.2", "series_uid": "1.3",'
        b' "sop_uids": ["1.4\'; DROP TABLE series; --"]}',
    }
    for name, data in cases.items():
        ctx.store.put(inbox, f"bad/{name}{MANIFEST_SUFFIX}", data)
        assert ingest_object(ctx, inbox, f"bad/{name}{MANIFEST_SUFFIX}", None) == "quarantined"
    with ctx.db.connection() as conn:
        rows = conn.execute(
            "SELECT source_key, detail FROM quarantine_entries"
            " WHERE reason_code = 'invalid-manifest'"
        ).fetchall()
        manifests = conn.execute("SELECT count(*) FROM series_manifests").fetchone()
    details = {key.split("/")[1].removesuffix(MANIFEST_SUFFIX): detail for key, detail in rows}
    assert details["not-json"].startswith("not JSON")
    assert "sop_uids: Field required" in details["no-uids"]
    assert "listed more than once" in details["twice"]
    assert "sop_uids.0" in details["hostile"]
    assert manifests == (0,)
