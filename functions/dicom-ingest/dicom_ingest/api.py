"""The ingest HTTP API: what became of an upload, and the ingest metrics.

    GET /objects?key=K   the ledger entries of one dicom-inbox key (ingest:read, PHI)
    GET /metrics         Prometheus text: settled objects by outcome and reason (admin)

Object keys are chosen by senders and may name patients, so reading the ledger is a PHI read
(recorded as ``access.recorded``). The key is a query parameter, not a path segment: keys hold
slashes, which a path parameter may not. The metrics are counts from PostgreSQL, the same whichever
replica answers: ``acme_ingest_settled_objects{outcome,reason}`` (a rise of
``outcome="quarantined",reason="ingest-error"`` is a poison object) and
``acme_ingest_failing_objects`` (objects whose last try failed and that wait for another).
The archive's room is measured at each scrape (:func:`acme.storage.archive_space`):
``acme_archive_free_bytes``, ``acme_archive_min_free_bytes`` and ``acme_ingest_paused`` (1 while
ingest leaves new objects in the inbox for want of space); absent when no volume is measured.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Gauge, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from pydantic import BaseModel, ConfigDict

from acme.auth import Permission
from acme.events.values import ObjectKey
from acme.function import Context
from acme.http import ApiError, ApiRequest, Body, HttpApi
from acme.ledger import ObjectStatus, object_status
from acme.storage import archive_space

routes = HttpApi("ingest-api", title="Ingest ledger")

_SETTLED = """
SELECT l.outcome, coalesce(q.reason_code, '') AS reason, count(*)
FROM inbox_ledger l LEFT JOIN quarantine_entries q ON q.key = l.quarantine_key
GROUP BY 1, 2
"""
_FAILING = "SELECT count(*) FROM ingest_attempts WHERE failures > 0"


class ObjectQuery(BaseModel):
    """``GET /objects`` query: the dicom-inbox key, as sent (not URL-encoded twice)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: ObjectKey


@routes.get(
    "/objects",
    permission=Permission.INGEST_READ,
    phi=True,
    query=ObjectQuery,
    response=ObjectStatus,
    errors=(404,),
)
def read_object(ctx: Context, request: ApiRequest) -> ObjectStatus:
    """What became of each upload under one dicom-inbox key, newest first."""
    query = request.params
    assert isinstance(query, ObjectQuery)
    status = object_status(ctx.db, ctx.store, ctx.settings.buckets.inbox, query.key)
    if not status.entries and not status.waiting:
        raise ApiError(404, "not-found", "no upload under this key is known")
    return status


@routes.get("/metrics", permission=Permission.ADMIN, phi=False, media_types=(CONTENT_TYPE_LATEST,))
def metrics(ctx: Context, request: ApiRequest) -> Body:
    """Prometheus text exposition of the ingest counts."""
    registry = CollectorRegistry()
    settled = Gauge(
        "acme_ingest_settled_objects",
        "Inbox objects settled, by outcome and (for quarantine and its duplicates) reason.",
        ["outcome", "reason"],
        registry=registry,
    )
    failing = Gauge(
        "acme_ingest_failing_objects",
        "Inbox objects whose last try failed, waiting for another (or for quarantine).",
        registry=registry,
    )
    with ctx.db.connection() as conn:
        for outcome, reason, count in conn.execute(_SETTLED).fetchall():
            settled.labels(outcome, reason).set(count)
        row = conn.execute(_FAILING).fetchone()
    failing.set(row[0] if row else 0)
    _archive_room(ctx, registry)
    return Body(generate_latest(registry), CONTENT_TYPE_LATEST)


def _archive_room(ctx: Context, registry: CollectorRegistry) -> None:
    space = archive_space(ctx.settings)
    if space is None:
        return
    gauges = (
        ("acme_archive_free_bytes", "Free space of the archive volume.", space.free_bytes),
        ("acme_archive_min_free_bytes", "Ingest pauses under this free space (setting).",
         space.min_free_bytes),
        ("acme_ingest_paused", "1 while ingest leaves new objects in dicom-inbox for want of"
         " archive space.", int(space.short)),
    )  # fmt: skip
    for name, text, value in gauges:
        Gauge(name, text, registry=registry).set(value)
