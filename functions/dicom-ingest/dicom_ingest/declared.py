"""Completion manifests: record one, and complete its series once every listed instance is in.

A manifest object (:mod:`acme.series_manifest`) is read, validated and recorded with its
ledger entry (``declared``) in one transaction, then removed from the inbox; a bad one is
quarantined as ``invalid-manifest``. Right after (and after each new instance of a series with
an open manifest is archived) :func:`complete_declared` looks for an open manifest of the
series whose every SOP Instance UID is indexed in it. The manifest row is locked (``FOR UPDATE
SKIP LOCKED``) and closed in the transaction that completes the series through
:func:`dicom_ingest.completion.complete_in` (``WHERE completed_at IS NULL``), so when replicas
or threads race exactly one completes it. A crash between an instance's commit and the check
is caught by the tick (:func:`complete_every_declared`). A series completed by its stable age
first closes its open manifests (``stable-age``).
"""

from __future__ import annotations

from dicom_ingest.completion import complete_in
from dicom_ingest.quarantine import quarantine
from dicom_ingest.routing import RoutingConfig, routing_of
from dicom_ingest.settle import settle

from acme import ledger
from acme.events import SeriesCompleted
from acme.function import Context
from acme.ledger import LedgerEntry
from acme.series_manifest import MAX_MANIFEST_BYTES, InvalidManifest, parse_manifest
from acme.storage import Fetched

_RECORD = """
INSERT INTO series_manifests (bucket, key, etag, received_at, study_uid, series_uid, sop_uids)
VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (bucket, key, etag, received_at) DO NOTHING
"""

_SATISFIED = """
SELECT m.id FROM series_manifests m
WHERE m.series_uid = %s AND m.closed_at IS NULL
  AND (SELECT count(*) FROM instances i JOIN series s USING (series_uid)
       WHERE i.series_uid = m.series_uid AND s.study_uid = m.study_uid
         AND i.sop_uid = ANY(m.sop_uids)) = cardinality(m.sop_uids)
ORDER BY m.declared_at LIMIT 1 FOR UPDATE OF m SKIP LOCKED
"""

_CLOSE = "UPDATE series_manifests SET closed_at = now(), closed_by = 'declared' WHERE id = %s"

_OPEN_SERIES = """
SELECT DISTINCT series_uid FROM series_manifests WHERE closed_at IS NULL LIMIT %s
"""

_HAS_OPEN = (
    "SELECT EXISTS (SELECT 1 FROM series_manifests WHERE series_uid = %s AND closed_at IS NULL)"
)


def declare(ctx: Context, fetched: Fetched, traceparent: str | None) -> LedgerEntry | None:
    """Record the manifest ``fetched`` (or quarantine it), remove it, complete its series if
    every listed instance is indexed."""
    info, data = fetched.info, fetched.data
    if data is None:
        detail = f"{info.size} bytes is over the limit of {MAX_MANIFEST_BYTES} for a manifest"
        return quarantine(ctx, info, "invalid-manifest", detail, traceparent)
    try:
        manifest = parse_manifest(data)
    except InvalidManifest as bad:
        return quarantine(ctx, info, "invalid-manifest", str(bad)[:2000], traceparent)
    with ctx.transaction() as tx:
        tx.conn.execute(
            _RECORD,
            (info.bucket, info.key, info.etag, info.last_modified, manifest.study_uid,
             manifest.series_uid, list(manifest.sop_uids)),
        )  # fmt: skip
        entry = ledger.record(tx.conn, info, "declared")
    settled = settle(ctx, entry)
    complete_declared(ctx, manifest.series_uid, traceparent)
    return settled


def complete_declared(
    ctx: Context, series_uid: str, traceparent: str | None, routing: RoutingConfig | None = None
) -> SeriesCompleted | None:
    """Complete ``series_uid`` now if an open manifest of it lists only indexed instances."""
    with ctx.db.connection() as conn:
        row = conn.execute(_HAS_OPEN, (series_uid,)).fetchone()
    if row is None or not row[0]:
        return None
    routing = routing or routing_of(ctx)
    with ctx.transaction() as tx:
        manifest = tx.conn.execute(_SATISFIED, (series_uid,)).fetchone()
        if manifest is None:  # not every instance yet, or another thread is completing it
            return None
        tx.conn.execute(_CLOSE, (manifest[0],))
        data = complete_in(tx, routing, series_uid, None, traceparent)
    if data is not None:
        ctx.log.info(
            "series completed", series_uid=series_uid, pipeline=data.pipeline, rule=data.rule,
            completion=data.completion, by="manifest",
        )  # fmt: skip
    return data


def complete_every_declared(
    ctx: Context, routing: RoutingConfig, traceparent: str | None, limit: int = 500
) -> list[SeriesCompleted]:
    """On tick: complete every series whose open manifest is satisfied (a check lost to a
    crash between an instance's commit and its check)."""
    with ctx.db.connection() as conn:
        rows = conn.execute(_OPEN_SERIES, (limit,)).fetchall()
    done = [complete_declared(ctx, str(row[0]), traceparent, routing) for row in rows]
    return [data for data in done if data is not None]
