"""The ingest HTTP API: the ledger of one key for technologists and admins, the metrics."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import flask
from dicom_ingest.api import routes
from dicom_ingest.ingest import ingest_object

from acme.auth import ensure_local_key, mint_token, policy_from_settings
from acme.function import Context
from acme.http import dispatcher_for
from acme.samples import SampleManifest


def _call(ctx: Context, path: str, role: str | None, **query: str) -> flask.Response:
    dispatch = dispatcher_for(routes, policy_from_settings(ctx.settings))
    headers = {}
    if role is not None:
        headers["Authorization"] = "Bearer " + mint_token(ctx.settings, user="u1", roles=[role])
    with flask.Flask("t").test_request_context(path, headers=headers, query_string=query):
        return dispatch(ctx, flask.request)


def test_the_ledger_of_a_key_is_read_by_technologists_and_admins(
    ctx: Context, samples: tuple[Path, SampleManifest]
) -> None:
    ensure_local_key(ctx.settings)
    folder, manifest = samples
    entry = next(e for e in manifest.good() if e.modality == "CR")
    inbox = ctx.settings.buckets.inbox
    key = "ward 3/Röntgen #1.dcm"
    ctx.store.put(inbox, key, (folder / entry.path).read_bytes())
    ingest_object(ctx, inbox, key, None)
    for role in ("technologist", "admin"):
        answer = _call(ctx, "/objects", role, key=key)
        assert answer.status_code == 200, answer.get_json()
        body: dict[str, Any] = answer.get_json()
        assert body["key"] == key and body["waiting"] is False
        [settled] = body["entries"]
        assert (settled["outcome"], settled["sop_uid"]) == ("archived", entry.sop_uid)
    assert _call(ctx, "/objects", "radiologist", key=key).status_code == 403
    assert _call(ctx, "/objects", None, key=key).status_code == 401
    assert _call(ctx, "/objects", "technologist", key="never-sent.dcm").status_code == 404
    assert _call(ctx, "/objects", "technologist").status_code == 422  # no key named


def test_a_key_waiting_in_the_inbox_shows_its_tries(
    ctx: Context, samples: tuple[Path, SampleManifest]
) -> None:
    ensure_local_key(ctx.settings)
    info = ctx.store.put(ctx.settings.buckets.inbox, "waiting.dcm", b"\x00" * 10)
    with ctx.db.connection() as conn:
        conn.execute(
            "INSERT INTO ingest_attempts VALUES (%s, %s, %s, %s, 2, 1, 'ValueError', now())",
            (info.bucket, info.key, info.etag, info.last_modified),
        )
    body = _call(ctx, "/objects", "technologist", key="waiting.dcm").get_json()
    assert (body["waiting"], body["attempts"], body["failures"], body["last_error"]) == (
        True,
        2,
        1,
        "ValueError",
    )
    assert body["entries"] == []


def test_metrics_count_outcomes_and_reasons(
    ctx: Context, samples: tuple[Path, SampleManifest]
) -> None:
    ensure_local_key(ctx.settings)
    folder, manifest = samples
    inbox = ctx.settings.buckets.inbox
    good = next(e for e in manifest.good() if e.modality == "CR")
    bad = next(e for e in manifest.bad() if e.expected_reason == "not-dicom")
    for key, path in (("a.dcm", good.path), ("b.dcm", good.path), ("c.png", bad.path)):
        ctx.store.put(inbox, key, (folder / path).read_bytes())
        ingest_object(ctx, inbox, key, None)

    assert _call(ctx, "/metrics", "technologist").status_code == 403
    text = _call(ctx, "/metrics", "admin").get_data(as_text=True)
    assert 'acme_ingest_settled_objects{outcome="archived",reason=""} 1.0' in text
    assert 'acme_ingest_settled_objects{outcome="duplicate",reason=""} 1.0' in text
    assert 'acme_ingest_settled_objects{outcome="quarantined",reason="not-dicom"} 1.0' in text
    assert "acme_ingest_failing_objects 0.0" in text
