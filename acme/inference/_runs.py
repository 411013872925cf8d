"""Inference runs in PostgreSQL: one per series completion and model version.

A run is claimed by one ``INSERT ... ON CONFLICT DO NOTHING`` on UNIQUE (series_uid,
model_name, model_version, series_completion): a redelivered ``series.completed`` finds the
run it created, and a series completed again after a late instance gets a new run. While a
worker scores a series it holds a session advisory lock on (series, model), so a duplicate
delivered meanwhile is told to retry, and a worker that died leaves a ``running`` run the
next delivery takes over (same run id, ``attempts`` + 1).

The study's state follows the outcomes of its routed series (:func:`acme.outcomes.
settle_inference`), settled in the transaction that records the run. Every pipeline (cxr, ct,
ct-qa) records its runs here.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal

import psycopg
from psycopg.rows import TupleRow
from psycopg.types.json import Jsonb

from acme.db import Pool
from acme.events import Finding, QaResult, SeriesCompleted
from acme.lifecycle import Step, advance

Conn = psycopg.Connection[TupleRow]
RunStatus = Literal["running", "completed", "failed"]
RETRYABLE = frozenset({"model-unavailable"})
"""Failure reasons a later delivery may not meet: such a run is tried again when replayed."""


class RunInProgress(Exception):
    """Another worker holds this series and model right now; retry later (transient)."""


class SeriesNotReady(Exception):
    """The event names a completion of the series not committed yet; retry later (transient)."""


@dataclass(frozen=True)
class IndexedSeries:
    """A series as indexed: its study, its latest completion, and whether it is open again."""

    study_uid: str
    completion: int
    open: bool


@dataclass(frozen=True)
class Claim:
    run_id: uuid.UUID
    status: RunStatus
    attempts: int
    fresh: bool
    """True when this call created the run or took over a crashed one: it must do the work."""


@contextmanager
def series_lock(
    pool: Pool, series_uid: str, model_name: str, *, wait: float = 0.0
) -> Iterator[None]:
    """Hold the (series, model) advisory lock for the block, waiting up to ``wait`` seconds
    for it, or raise :class:`RunInProgress`."""
    key = f"infer:{series_uid}:{model_name}"
    busy = RunInProgress(f"series {series_uid} is being scored by {model_name} elsewhere")
    with pool.connection() as conn:
        if wait > 0:
            try:
                conn.execute(f"SET lock_timeout = {int(wait * 1000)}")
                conn.execute("SELECT pg_advisory_lock(hashtextextended(%s, 0))", (key,))
            except psycopg.errors.LockNotAvailable:
                conn.rollback()
                raise busy from None
            finally:
                conn.execute("RESET lock_timeout")
            conn.commit()
        else:
            row = conn.execute(
                "SELECT pg_try_advisory_lock(hashtextextended(%s, 0))", (key,)
            ).fetchone()
            conn.commit()
            if row is None or not row[0]:
                raise busy
        try:
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", (key,))
            conn.commit()


def indexed_series(pool: Pool, series_uid: str) -> IndexedSeries | None:
    """The series as indexed, or None when it is not indexed."""
    with pool.connection() as conn:
        row = conn.execute(
            "SELECT study_uid, completions, completed_at IS NULL FROM series WHERE series_uid = %s",
            (series_uid,),
        ).fetchone()
    if row is None:
        return None
    return IndexedSeries(study_uid=str(row[0]), completion=int(row[1]), open=bool(row[2]))


def claim_run(pool: Pool, series: SeriesCompleted, model_name: str, model_version: str) -> Claim:
    """Create the run of (series completion, model version), or find it; a fresh claim takes
    the study to inferring."""
    with pool.connection() as conn, conn.transaction():
        row = conn.execute(
            "INSERT INTO inference_runs (study_uid, series_uid, series_completion, pipeline,"
            " model_name, model_version) VALUES (%s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (series_uid, model_name, model_version, series_completion)"
            " DO NOTHING RETURNING id",
            (series.study_uid, series.series_uid, series.completion, series.pipeline,
             model_name, model_version),
        ).fetchone()  # fmt: skip
        if row is not None:
            claim = Claim(run_id=row[0], status="running", attempts=1, fresh=True)
        else:
            claim = _existing(conn, series, model_name, model_version)
        if claim.fresh:
            advance(conn, series.study_uid, Step.INFERENCE_STARTED)
    return claim


def claim_for_failure(
    pool: Pool, series: SeriesCompleted, model_name: str, model_version: str
) -> Claim:
    """The run a last delivery ends: this completion's run of the model, whatever version an
    earlier delivery loaded (taken over when it was left running), else a new one."""
    with pool.connection() as conn, conn.transaction():
        row = conn.execute(
            "SELECT model_version FROM inference_runs WHERE series_uid = %s"
            " AND model_name = %s AND series_completion = %s ORDER BY started_at DESC LIMIT 1",
            (series.series_uid, model_name, series.completion),
        ).fetchone()
    return claim_run(pool, series, model_name, str(row[0]) if row else model_version)


def _existing(conn: Conn, series: SeriesCompleted, model_name: str, model_version: str) -> Claim:
    row = conn.execute(
        "SELECT id, status, attempts, reason_code FROM inference_runs"
        " WHERE series_uid = %s AND model_name = %s AND model_version = %s"
        " AND series_completion = %s FOR UPDATE",
        (series.series_uid, model_name, model_version, series.completion),
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
class CompletedRun:
    run_id: uuid.UUID
    provider: str
    device: str
    model_sha256: str | None
    not_for_diagnosis: bool
    timings: dict[str, float]
    images_used: int
    images_skipped: list[dict[str, str]]
    findings: list[Finding]
    qa: QaResult | None = None


def complete_run(conn: Conn, run: CompletedRun) -> bool:
    """Record a finished run and its findings (in the caller's transaction); False when the
    run is no longer running (a last delivery ended it failed meanwhile: that outcome was
    announced and stands)."""
    updated = conn.execute(
        "UPDATE inference_runs SET status = 'completed', finished_at = now(),"
        " execution_provider = %s, device = %s, model_sha256 = %s, not_for_diagnosis = %s,"
        " timings = %s, images_used = %s, images_skipped = %s"
        " WHERE id = %s AND status = 'running' RETURNING id",
        (run.provider, run.device, run.model_sha256, run.not_for_diagnosis, Jsonb(run.timings),
         run.images_used, Jsonb(run.images_skipped), run.run_id),
    ).fetchone()  # fmt: skip
    if updated is None:
        return False
    conn.execute("DELETE FROM findings WHERE run_id = %s", (run.run_id,))
    conn.execute("DELETE FROM qa_checks WHERE run_id = %s", (run.run_id,))
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO findings (run_id, label, probability, threshold, positive, sop_uid,"
            " heatmap_key, code_system, code, code_display, measurement)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [(run.run_id, f.label, f.probability, f.threshold, f.positive, f.sop_uid,
              f.heatmap_key, *_code(f), _measurement(f)) for f in run.findings],
        )  # fmt: skip
    if run.qa is not None:
        _record_qa(conn, run.run_id, run.qa)
    return True


def _measurement(finding: Finding) -> Jsonb | None:
    measured = finding.measurement
    return Jsonb(measured.model_dump(mode="json")) if measured is not None else None


def _record_qa(conn: Conn, run_id: uuid.UUID, qa: QaResult) -> None:
    conn.execute(
        "INSERT INTO qa_checks (run_id, passed, sop_uid, phantom_diameter_mm)"
        " VALUES (%s, %s, %s, %s)",
        (run_id, qa.passed, qa.sop_uid, qa.phantom_diameter_mm),
    )
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO qa_measurements (run_id, name, value, unit, lower, upper, passed)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s)",
            [(run_id, i.name, i.value, i.unit, i.lower, i.upper, i.passed) for i in qa.items],
        )


def _code(finding: Finding) -> tuple[str | None, str | None, str | None]:
    code = finding.code
    return (code.system, code.code, code.display) if code else (None, None, None)


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
