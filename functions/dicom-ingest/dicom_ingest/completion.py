"""Series completion: a series with no new instance for its stable age is complete, once per
completion; so is a series whose completion manifest lists only indexed instances
(:mod:`dicom_ingest.declared`, which completes through :func:`complete_in`).

Run on every ``tick``. Each candidate is completed by one conditional ``UPDATE ... WHERE
completed_at IS NULL RETURNING`` in a transaction that stages ``series.completed`` in the
outbox (:mod:`acme.outbox`): when replicas race, the row lock lets exactly one win; the event
is published once the completion is committed, and by the outbox relay if that fails.

An instance that arrives after its series completed reopens it (:mod:`dicom_ingest.index`
records the reopening); the tick first announces each reopening (``series.reopened``), then
the series completes again after its stable age, with the next ``completion`` number and its
own event id, so inference and the report follow the series as it now is.
"""

from __future__ import annotations

from datetime import UTC, datetime

from dicom_ingest.routing import RoutingConfig
from psycopg.rows import dict_row

from acme.events import EventType, SeriesCompleted, SeriesReopened, fact_id
from acme.function import Context, Transaction
from acme.lifecycle import Step, advance

_CANDIDATES = """
SELECT series_uid, modality, EXTRACT(EPOCH FROM now() - last_instance_at) AS idle_seconds
FROM series WHERE completed_at IS NULL AND last_instance_at < now() - make_interval(secs => %s)
ORDER BY last_instance_at LIMIT %s
"""

_COMPLETE = """
UPDATE series SET completed_at = now(), pipeline = %(pipeline)s, completions = completions + 1
WHERE series_uid = %(series_uid)s AND completed_at IS NULL
  AND (%(age)s::float8 IS NULL
       OR last_instance_at < now() - make_interval(secs => %(age)s::float8))
RETURNING study_uid, modality, body_part, instance_count, completed_at, completions
"""

_CLOSE_MANIFESTS = """
UPDATE series_manifests SET closed_at = now(), closed_by = 'stable-age'
WHERE series_uid = %s AND closed_at IS NULL
"""

_STUDY_HAS_OPEN_SERIES = (
    "SELECT EXISTS (SELECT 1 FROM series WHERE study_uid = %s AND completed_at IS NULL)"
)

_ANNOUNCE = """
UPDATE series_reopenings o SET announced_at = now()
FROM series s
WHERE s.series_uid = o.series_uid AND (o.series_uid, o.completion) IN (
    SELECT series_uid, completion FROM series_reopenings WHERE announced_at IS NULL
    ORDER BY reopened_at LIMIT %s FOR UPDATE SKIP LOCKED)
RETURNING o.series_uid, o.completion, o.pipeline, o.sop_uid, o.reopened_at, s.study_uid,
          s.modality, s.body_part
"""


def complete_series(
    ctx: Context, routing: RoutingConfig, traceparent: str | None, limit: int = 500
) -> list[SeriesCompleted]:
    """Announce reopened series, then complete every series idle for its stable age; return
    what this call completed."""
    announce_reopenings(ctx, traceparent, limit)
    shortest = min(routing.stable_age_seconds.values())
    with ctx.db.connection() as conn:
        rows = conn.execute(_CANDIDATES, (shortest, limit)).fetchall()
    done: list[SeriesCompleted] = []
    for series_uid, modality, idle in rows:
        age = routing.stable_age(str(modality))
        if float(idle) < age:
            continue
        completed = _complete_one(ctx, routing, str(series_uid), age, traceparent)
        if completed is not None:
            done.append(completed)
    return done


def announce_reopenings(ctx: Context, traceparent: str | None, limit: int = 500) -> int:
    """Emit ``series.reopened`` for each reopening not yet announced; how many."""
    with ctx.transaction() as tx:
        with tx.conn.cursor(row_factory=dict_row) as cur:
            rows = cur.execute(_ANNOUNCE, (limit,)).fetchall()
        for row in rows:
            data = SeriesReopened(
                study_uid=row["study_uid"],
                series_uid=row["series_uid"],
                sop_uid=row["sop_uid"],
                modality=row["modality"],
                body_part=row["body_part"],
                pipeline=row["pipeline"],
                completion=row["completion"],
                reopened_at=row["reopened_at"].astimezone(UTC),
            )
            tx.emit(
                EventType.SERIES_REOPENED,
                data,
                traceparent=traceparent,
                event_id=fact_id("series.reopened", data.series_uid, str(data.completion)),
            )
    for row in rows:
        ctx.log.info(
            "series reopened by a late instance",
            series_uid=row["series_uid"],
            completion=row["completion"],
        )
    return len(rows)


def _complete_one(
    ctx: Context, routing: RoutingConfig, series_uid: str, age: float, traceparent: str | None
) -> SeriesCompleted | None:
    with ctx.transaction() as tx:
        data = complete_in(tx, routing, series_uid, age, traceparent)
        if data is not None:
            tx.conn.execute(_CLOSE_MANIFESTS, (series_uid,))
    if data is not None:
        ctx.log.info(
            "series completed", series_uid=series_uid, pipeline=data.pipeline, rule=data.rule,
            completion=data.completion, by="stable-age",
        )  # fmt: skip
    return data


def complete_in(
    tx: Transaction,
    routing: RoutingConfig,
    series_uid: str,
    age: float | None,
    traceparent: str | None,
) -> SeriesCompleted | None:
    """Complete ``series_uid`` in ``tx`` unless it is complete already (or, with ``age``, had
    an instance within it); stage its ``series.completed``."""
    conn = tx.conn
    tags = conn.execute(
        "SELECT routing_tags FROM series WHERE series_uid = %s", (series_uid,)
    ).fetchone()
    if tags is None:
        return None
    pipeline, rule = routing.route(tags[0] or {})
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            _COMPLETE, {"pipeline": pipeline, "series_uid": series_uid, "age": age}
        ).fetchone()
    if row is None:  # another replica won, or an instance just arrived
        return None
    study_uid = str(row["study_uid"])
    open_series = conn.execute(_STUDY_HAS_OPEN_SERIES, (study_uid,)).fetchone()
    if open_series is not None and not open_series[0]:
        advance(conn, study_uid, Step.SERIES_COMPLETED)
    completion = int(row["completions"])
    data = SeriesCompleted(
        study_uid=study_uid,
        series_uid=series_uid,
        modality=str(row["modality"]),
        body_part=row["body_part"],
        pipeline=pipeline,
        rule=rule,
        instance_count=int(row["instance_count"]),
        completion=completion,
        completed_at=row["completed_at"].astimezone(UTC)
        if row["completed_at"]
        else datetime.now(UTC),
    )
    tx.emit(
        EventType.SERIES_COMPLETED,
        data,
        traceparent=traceparent,
        event_id=completed_event_id(series_uid, completion),
    )
    return data


def completed_event_id(series_uid: str, completion: int) -> str:
    """The id of a series' ``series.completed``: one per completion (the first keeps the id
    it had before series could complete more than once)."""
    if completion == 1:
        return fact_id("series.completed", series_uid)
    return fact_id("series.completed", series_uid, str(completion))
