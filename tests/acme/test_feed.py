"""The change feed: entries written with their change, numbered gap-free in commit order."""

from __future__ import annotations

import dataclasses
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from cloudevents.http import CloudEvent

from acme import feed
from acme.bus import InMemoryBus
from acme.errors import BusError
from acme.events import EventType, ReportSigned, SeriesCompleted, Tick, new_event
from acme.function import Context
from acme.outbox import relay, stage
from acme.settings import Settings

STUDY = "1.2.826.0.1.3680043.8.498.10"


class DownBus(InMemoryBus):
    def publish(self, event: CloudEvent) -> None:
        raise BusError("connection refused")


@pytest.fixture
def ctx(settings: Settings) -> Iterator[Context]:
    opened = Context.open("feed-test", settings)
    opened.bus.close()
    yield dataclasses.replace(opened, bus=InMemoryBus())
    opened.db.close()
    opened.redis.close()


def _completed(n: int) -> SeriesCompleted:
    return SeriesCompleted(
        study_uid=STUDY,
        series_uid=f"{STUDY}.{n}",
        modality="CT",
        pipeline="ct",
        instance_count=n,
        completed_at=datetime(2026, 1, 1, tzinfo=UTC),
    )


def _signed(status: str) -> ReportSigned:
    return ReportSigned(
        report_id=uuid.UUID(int=7),
        version=2 if status == "amended" else 1,
        status=status,  # type: ignore[arg-type]
        study_uid=STUDY,
        signed_by="dr.who",
        signer_role="radiologist",
        content_sha256="0" * 64,
        signed_at=datetime(2026, 1, 2, tzinfo=UTC),
    )


def _series(entries: list[feed.ChangeEntry]) -> list[str | None]:
    return [entry.series_uid for entry in entries]


def test_each_committed_change_gets_the_next_number(ctx: Context) -> None:
    for n in (1, 2, 3):
        with ctx.transaction() as tx:
            tx.emit(EventType.SERIES_COMPLETED, _completed(n))
            tx.emit(EventType.TICK, Tick(at=datetime.now(UTC), sequence=n))  # not a feed type
    entries = feed.changes(ctx.db, since=0, limit=100)
    assert [e.sequence for e in entries] == [1, 2, 3]
    assert _series(entries) == [f"{STUDY}.1", f"{STUDY}.2", f"{STUDY}.3"]
    assert {e.action for e in entries} == {"series.completed"}
    assert entries[0].subject == f"studies/{STUDY}/series/{STUDY}.1"
    assert entries[0].data["instance_count"] == 1


def test_resuming_from_a_sequence_returns_exactly_the_rest(ctx: Context) -> None:
    for n in range(1, 8):
        with ctx.transaction() as tx:
            tx.emit(EventType.SERIES_COMPLETED, _completed(n))
    first = feed.changes(ctx.db, since=0, limit=3)
    rest = feed.changes(ctx.db, since=first[-1].sequence, limit=100)
    assert [e.sequence for e in first] == [1, 2, 3]
    assert [e.sequence for e in rest] == [4, 5, 6, 7]
    assert feed.changes(ctx.db, since=7, limit=100) == []
    latest = feed.latest(ctx.db)
    assert latest is not None and latest.sequence == 7


def test_a_rolled_back_change_leaves_no_entry_and_no_gap(ctx: Context) -> None:
    with ctx.transaction() as tx:
        tx.emit(EventType.SERIES_COMPLETED, _completed(1))
    with pytest.raises(RuntimeError), ctx.transaction() as tx:
        tx.emit(EventType.SERIES_COMPLETED, _completed(2))
        raise RuntimeError("rolled back")
    with ctx.transaction() as tx:
        tx.emit(EventType.SERIES_COMPLETED, _completed(3))
    entries = feed.changes(ctx.db, since=0, limit=100)
    assert [(e.sequence, e.series_uid) for e in entries] == [(1, f"{STUDY}.1"), (2, f"{STUDY}.3")]


def test_an_entry_written_earlier_but_committed_later_comes_after(ctx: Context) -> None:
    """Numbers follow commits: an open transaction's entry is not numbered, and nothing
    numbered later is put before what a reader has already seen."""
    staged = threading.Event()
    release = threading.Event()

    def slow_writer() -> None:
        with ctx.transaction() as tx:
            tx.emit(EventType.SERIES_COMPLETED, _completed(1))  # written first...
            staged.set()
            release.wait(30)  # ...committed last

    writer = threading.Thread(target=slow_writer)
    writer.start()
    assert staged.wait(30)
    with ctx.transaction() as tx:
        tx.emit(EventType.SERIES_COMPLETED, _completed(2))
    seen = feed.changes(ctx.db, since=0, limit=100)
    assert [(e.sequence, e.series_uid) for e in seen] == [(1, f"{STUDY}.2")]
    release.set()
    writer.join(30)
    after = feed.changes(ctx.db, since=seen[-1].sequence, limit=100)
    assert [(e.sequence, e.series_uid) for e in after] == [(2, f"{STUDY}.1")]


def test_what_a_writer_left_unnumbered_is_numbered_by_the_relay(ctx: Context) -> None:
    event = new_event(EventType.SERIES_COMPLETED, _completed(1), source=ctx.source)
    with ctx.db.connection() as conn, conn.transaction():  # committed, then the writer died
        stage(conn, event)
    assert feed.changes(ctx.db, since=0, limit=100) == []
    relay(ctx.db, InMemoryBus(), older_than=3600)
    assert [e.sequence for e in feed.changes(ctx.db, since=0, limit=100)] == [1]


def test_an_amended_signature_is_named_report_amended(ctx: Context) -> None:
    with ctx.transaction() as tx:
        tx.emit(EventType.REPORT_SIGNED, _signed("final"), event_id="signed-1")
    with ctx.transaction() as tx:
        tx.emit(EventType.REPORT_SIGNED, _signed("amended"), event_id="signed-2")
    entries = feed.changes(ctx.db, since=0, limit=100)
    assert [(e.action, e.type) for e in entries] == [
        ("report.signed", EventType.REPORT_SIGNED),
        ("report.amended", EventType.REPORT_SIGNED),
    ]


def test_the_same_fact_staged_again_keeps_its_one_entry(ctx: Context) -> None:
    for _ in range(2):
        with ctx.transaction() as tx:
            tx.emit(EventType.SERIES_COMPLETED, _completed(1), event_id="fact")
    assert [e.event_id for e in feed.changes(ctx.db, since=0, limit=100)] == ["fact"]


def test_entries_outlive_the_pruned_outbox(ctx: Context) -> None:
    with ctx.transaction() as tx:
        tx.emit(EventType.SERIES_COMPLETED, _completed(1))
    with ctx.db.connection() as conn:
        conn.execute("UPDATE outbox SET published_at = now() - interval '30 days'")
    relay(ctx.db, InMemoryBus(), older_than=0)
    with ctx.db.connection() as conn:
        assert conn.execute("SELECT count(*) FROM outbox").fetchone() == (0,)
    assert [e.sequence for e in feed.changes(ctx.db, since=0, limit=100)] == [1]


def test_a_bus_outage_does_not_hold_back_the_feed(ctx: Context) -> None:
    down = dataclasses.replace(ctx, bus=DownBus())
    with down.transaction() as tx:
        tx.emit(EventType.SERIES_COMPLETED, _completed(1))
    assert [e.sequence for e in feed.changes(ctx.db, since=0, limit=100)] == [1]
