"""Inference runs in PostgreSQL: one per series and model version, and the study's state.

A run is claimed by one ``INSERT ... ON CONFLICT DO NOTHING`` on UNIQUE (series_uid,
model_name, model_version): a redelivered ``series.completed`` finds the run it created.
While a worker scores a series it holds a session advisory lock on (series, model), so a
duplicate delivered meanwhile is told to retry, and a worker that died leaves a ``running``
run the next delivery takes over (same run id, ``attempts`` + 1).

The study's state follows the latest run of every series routed to a model: any failed →
``failed``; all completed → ``inferred``; else ``inferring``. It is settled under the study's
row lock, so two functions finishing series of one study at once cannot both miss the end.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

import psycopg
from psycopg.rows import TupleRow
from psycopg.types.json import Jsonb

from acme.db import Pool, StudyState, transition_study
from acme.events import SeriesCompleted

Conn = psycopg.Connection[TupleRow]
RunStatus = Literal["running", "completed", "failed"]
RETRYABLE = frozenset({"model-unavailable"})
"""Failure reasons a later delivery may not meet: such a run is tried again when replayed."""


class RunInProgress(Exception):
    """Another worker holds this series and model right now; retry later (transient)."""


@dataclass(frozen=True)
class Claim:
    run_id: uuid.UUID
    status: RunStatus
    attempts: int
    fresh: bool
    """True when this call created the run or took over a crashed one: it must do the work."""


@contextmanager
def series_lock(pool: Pool, series_uid: str, model_name: str) -> Iterator[None]:
    """Hold the (series, model) advisory lock for the block, or raise :class:`RunInProgress`."""
    key = f"infer:{series_uid}:{model_name}"
    with pool.connection() as conn:
        row = conn.execute(
            "SELECT pg_try_advisory_lock(hashtextextended(%s, 0))", (key,)
        ).fetchone()
        conn.commit()
        if row is None or not row[0]:
            raise RunInProgress(f"series {series_uid} is being scored by {model_name} elsewhere")
        try:
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", (key,))
            conn.commit()


def indexed_study(pool: Pool, series_uid: str) -> str | None:
    """The study the series is indexed under, or None when it is not indexed."""
    with pool.connection() as conn:
        row = conn.execute(
            "SELECT study_uid FROM series WHERE series_uid = %s", (series_uid,)
        ).fetchone()
    return str(row[0]) if row is not None else None


def claim_run(pool: Pool, series: SeriesCompleted, model_name: str, model_version: str) -> Claim:
    """Create the run of (series, model version), or find it; move the study to inferring."""
    with pool.connection() as conn, conn.transaction():
        row = conn.execute(
            "INSERT INTO inference_runs (study_uid, series_uid, pipeline, model_name,"
            " model_version) VALUES (%s, %s, %s, %s, %s)"
            " ON CONFLICT (series_uid, model_name, model_version) DO NOTHING RETURNING id",
            (series.study_uid, series.series_uid, series.pipeline, model_name, model_version),
        ).fetchone()
        if row is not None:
            claim = Claim(run_id=row[0], status="running", attempts=1, fresh=True)
        else:
            claim = _existing(conn, series.series_uid, model_name, model_version)
        if claim.fresh:
            sources = [StudyState.COMPLETE, StudyState.FAILED]
            transition_study(conn, series.study_uid, sources, StudyState.INFERRING)
    return claim


def _existing(conn: Conn, series_uid: str, model_name: str, model_version: str) -> Claim:
    row = conn.execute(
        "SELECT id, status, attempts, reason_code FROM inference_runs"
        " WHERE series_uid = %s AND model_name = %s AND model_version = %s FOR UPDATE",
        (series_uid, model_name, model_version),
    ).fetchone()
    assert row is not None
    run_id, status, attempts, reason_code = row
    if status == "completed" or (status == "failed" and reason_code not in RETRYABLE):
        return Claim(run_id=run_id, status=status, attempts=int(attempts), fresh=False)
    # Running: we hold the series lock, so whoever left it running is gone. Failed for a
    # reason a later delivery may not meet (the model was missing): try again.
    conn.execute(
        "UPDATE inference_runs SET status = 'running', attempts = attempts + 1,"
        " finished_at = NULL, reason_code = NULL, error = NULL WHERE id = %s",
        (run_id,),
    )
    return Claim(run_id=run_id, status="running", attempts=int(attempts) + 1, fresh=True)


@dataclass(frozen=True)
class FindingRow:
    label: str
    probability: float
    threshold: float
    positive: bool
    sop_uid: str
    heatmap_key: str | None


@dataclass(frozen=True)
class CompletedRun:
    run_id: uuid.UUID
    provider: str
    device: str
    model_sha256: str
    not_for_diagnosis: bool
    timings: dict[str, float]
    images_used: int
    images_skipped: list[dict[str, str]]
    findings: list[FindingRow]


def complete_run(conn: Conn, run: CompletedRun) -> None:
    """Record a finished run and its findings (in the caller's transaction)."""
    conn.execute(
        "UPDATE inference_runs SET status = 'completed', finished_at = now(),"
        " execution_provider = %s, device = %s, model_sha256 = %s, not_for_diagnosis = %s,"
        " timings = %s, images_used = %s, images_skipped = %s WHERE id = %s",
        (run.provider, run.device, run.model_sha256, run.not_for_diagnosis, Jsonb(run.timings),
         run.images_used, Jsonb(run.images_skipped), run.run_id),
    )  # fmt: skip
    conn.execute("DELETE FROM findings WHERE run_id = %s", (run.run_id,))
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO findings (run_id, label, probability, threshold, positive, sop_uid,"
            " heatmap_key) VALUES (%s, %s, %s, %s, %s, %s, %s)",
            [(run.run_id, f.label, f.probability, f.threshold, f.positive, f.sop_uid,
              f.heatmap_key) for f in run.findings],
        )  # fmt: skip


def fail_run(
    conn: Conn,
    run_id: uuid.UUID,
    reason_code: str,
    detail: str,
    *,
    skipped: list[dict[str, str]] | None = None,
) -> None:
    """Record a run that failed for good (in the caller's transaction)."""
    conn.execute(
        "UPDATE inference_runs SET status = 'failed', finished_at = now(), reason_code = %s,"
        " error = %s, images_skipped = %s WHERE id = %s",
        (reason_code, detail, Jsonb(skipped or []), run_id),
    )


_SETTLE = """
WITH routed AS (
    SELECT series_uid FROM series WHERE study_uid = %(study)s AND pipeline IN ('cxr', 'ct')
), latest AS (
    SELECT DISTINCT ON (r.series_uid) r.series_uid, r.status, r.reason_code
    FROM inference_runs r JOIN routed USING (series_uid)
    ORDER BY r.series_uid, r.started_at DESC, r.id
)
SELECT (SELECT count(*) FROM routed), count(*) FILTER (WHERE status = 'completed'),
       min(reason_code) FILTER (WHERE status = 'failed')
FROM latest
"""


def settle_study(conn: Conn, study_uid: str) -> StudyState | None:
    """Move the study to the state its series' latest runs call for; the state it moved to."""
    conn.execute("SELECT 1 FROM studies WHERE study_uid = %s FOR UPDATE", (study_uid,))
    row: Any = conn.execute(_SETTLE, {"study": study_uid}).fetchone()
    routed, completed, failure = int(row[0]), int(row[1]), row[2]
    inferring, complete = StudyState.INFERRING, StudyState.COMPLETE
    if failure is not None:
        moved = transition_study(
            conn, study_uid, [complete, inferring, StudyState.INFERRED], StudyState.FAILED,
            reason=f"inference failed: {failure}",
        )  # fmt: skip
        return StudyState.FAILED if moved else None
    if completed >= routed:
        moved = transition_study(
            conn, study_uid, [complete, inferring, StudyState.FAILED], StudyState.INFERRED
        )
        return StudyState.INFERRED if moved else None
    moved = transition_study(conn, study_uid, [complete, StudyState.FAILED], inferring)
    return inferring if moved else None
