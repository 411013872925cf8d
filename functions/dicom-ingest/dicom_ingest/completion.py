"""Series completion: a series with no new instance for its stable age is complete, once.

Run on every ``tick``. Each candidate is completed by one conditional ``UPDATE ... WHERE
completed_at IS NULL RETURNING`` inside a transaction that also publishes
``series.completed`` before committing: when replicas race, the row lock lets exactly one
win, and a crash after publishing but before committing only re-publishes the same event
(same id, deduplicated by JetStream, idempotent downstream) on the next tick.
"""

from __future__ import annotations

from datetime import UTC, datetime

from dicom_ingest.routing import RoutingConfig
from psycopg.rows import dict_row

from acme.db import StudyState, transition_study
from acme.events import EventType, SeriesCompleted, fact_id
from acme.function import Context

_CANDIDATES = """
SELECT series_uid, modality, EXTRACT(EPOCH FROM now() - last_instance_at) AS idle_seconds
FROM series WHERE completed_at IS NULL AND last_instance_at < now() - make_interval(secs => %s)
ORDER BY last_instance_at LIMIT %s
"""

_COMPLETE = """
UPDATE series SET completed_at = now(), pipeline = %(pipeline)s
WHERE series_uid = %(series_uid)s AND completed_at IS NULL
  AND last_instance_at < now() - make_interval(secs => %(age)s)
RETURNING study_uid, modality, body_part, instance_count, routing_tags, completed_at
"""

_STUDY_HAS_OPEN_SERIES = (
    "SELECT EXISTS (SELECT 1 FROM series WHERE study_uid = %s AND completed_at IS NULL)"
)


def complete_series(
    ctx: Context, routing: RoutingConfig, traceparent: str | None, limit: int = 500
) -> list[SeriesCompleted]:
    """Complete every series idle for its stable age; return what this call completed."""
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


def _complete_one(
    ctx: Context, routing: RoutingConfig, series_uid: str, age: float, traceparent: str | None
) -> SeriesCompleted | None:
    with ctx.db.connection() as conn, conn.transaction():
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
            transition_study(conn, study_uid, [StudyState.RECEIVING], StudyState.COMPLETE)
        data = SeriesCompleted(
            study_uid=study_uid,
            series_uid=series_uid,
            modality=str(row["modality"]),
            body_part=row["body_part"],
            pipeline=pipeline,
            rule=rule,
            instance_count=int(row["instance_count"]),
            completed_at=row["completed_at"].astimezone(UTC)
            if row["completed_at"]
            else datetime.now(UTC),
        )
        ctx.emit(
            EventType.SERIES_COMPLETED,
            data,
            traceparent=traceparent,
            event_id=fact_id("series.completed", series_uid),
        )
    ctx.log.info("series completed", series_uid=series_uid, pipeline=pipeline, rule=rule)
    return data
