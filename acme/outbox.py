"""Commit, then announce: the transactional outbox.

An event that announces a change in the database (an instance indexed, a run completed, a
report signed) must never be published for a change that was rolled back, and never be lost
for one that was committed. So it is written into the ``outbox`` table in the same
transaction as the change (:func:`stage`); once that transaction has committed, the writer
publishes it (:func:`publish_staged`) and marks it published. When publishing fails, or the
writer dies between commit and publish, the row stays pending and :func:`relay` publishes it
later (dicom-ingest runs it on every tick): at least once, never before the commit.

A published event may be published again (the writer's mark was lost, or writer and relay
raced): JetStream drops a repeat of the same event id within its duplicate window and every
handler is idempotent on the event id. Published rows are kept for :data:`KEEP_DAYS` days and
then removed by the relay.

An event of a type the change feed lists is also written as an unnumbered feed entry
(:func:`acme.feed.record`) in the same transaction; the relay numbers what a writer left
unnumbered (:func:`acme.feed.sequence`). Feed entries outlive the pruned outbox rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

import psycopg
from cloudevents.http import CloudEvent
from psycopg.rows import TupleRow
from psycopg.types.json import Jsonb

from acme.bus import Bus, from_nats_message, to_nats_message
from acme.db import Pool
from acme.errors import BusError, EventError
from acme.feed import record, sequence
from acme.log import get_logger

__all__ = ["KEEP_DAYS", "pending_count", "publish_staged", "relay", "stage"]

KEEP_DAYS: Final = 7
Connection = psycopg.Connection[TupleRow]
_logger = get_logger(__name__)


def stage(conn: Connection, event: CloudEvent) -> None:
    """Record ``event`` for publishing once ``conn``'s transaction commits (idempotent on the
    event id: staging the same event twice keeps one row), and its change-feed entry."""
    headers, body = to_nats_message(event)
    conn.execute(
        "INSERT INTO outbox (event_id, event_type, headers, body) VALUES (%s, %s, %s, %s)"
        " ON CONFLICT (event_id) DO NOTHING",
        (str(event["id"]), str(event["type"]), Jsonb(headers), body),
    )
    record(conn, event, body)


def publish_staged(pool: Pool, bus: Bus, events: Iterable[CloudEvent]) -> bool:
    """Publish events whose transaction has committed and mark them; False when the bus
    refused one (it stays pending for :func:`relay`, and so do those after it)."""
    published: list[str] = []
    try:
        for event in events:
            bus.publish(event)
            published.append(str(event["id"]))
    except BusError as exc:
        _logger.warning("event left for the outbox relay", error=str(exc))
        return False
    finally:
        _mark(pool, published)
    return True


def relay(pool: Pool, bus: Bus, *, older_than: float = 5.0, limit: int = 500) -> int:
    """Publish pending events staged more than ``older_than`` seconds ago, oldest first;
    the number published. Replicas share the work (rows are claimed ``SKIP LOCKED``)."""
    with pool.connection() as conn, conn.transaction():
        rows = conn.execute(
            "SELECT id, headers, body FROM outbox WHERE published_at IS NULL"
            " AND created_at < now() - make_interval(secs => %s)"
            " ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED",
            (older_than, limit),
        ).fetchall()
        done: list[int] = []
        for row_id, headers, body in rows:
            try:
                event = from_nats_message(headers, bytes(body))
            except EventError as exc:  # stage() never writes such a row; never drop it
                _logger.error("outbox row is not an event; left pending", row=row_id,
                              error=str(exc))  # fmt: skip
                continue
            try:
                bus.publish(event)
            except BusError as exc:  # the bus is down: the rest waits for the next relay
                _logger.warning("outbox relay: the bus refused; tried again later", error=str(exc))
                conn.execute("UPDATE outbox SET attempts = attempts + 1 WHERE id = %s", (row_id,))
                break
            done.append(int(row_id))
        if done:
            conn.execute(
                "UPDATE outbox SET published_at = now(), attempts = attempts + 1"
                " WHERE id = ANY(%s)",
                (done,),
            )
        conn.execute(
            "DELETE FROM outbox WHERE published_at < now() - make_interval(days => %s)",
            (KEEP_DAYS,),
        )
    if done:
        _logger.info("outbox relay published events", count=len(done))
    numbered = sequence(pool)  # what writers committed but did not number
    if numbered:
        _logger.info("change feed entries numbered by the relay", count=numbered)
    return len(done)


def pending_count(pool: Pool) -> int:
    """Events committed but not yet published."""
    with pool.connection() as conn:
        row = conn.execute("SELECT count(*) FROM outbox WHERE published_at IS NULL").fetchone()
    return int(row[0]) if row else 0


def _mark(pool: Pool, event_ids: list[str]) -> None:
    if not event_ids:
        return
    try:
        with pool.connection() as conn:
            conn.execute(
                "UPDATE outbox SET published_at = now(), attempts = attempts + 1"
                " WHERE event_id = ANY(%s) AND published_at IS NULL",
                (event_ids,),
            )
    except psycopg.Error as exc:  # published but not marked: the relay publishes once more
        _logger.warning("published events not marked; the relay may repeat them", error=str(exc))
