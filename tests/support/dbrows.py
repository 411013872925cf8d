"""Read rows and study states back from a function context's database."""

from __future__ import annotations

from typing import Any

from acme.function import Context


def rows(ctx: Context, sql: str, *params: object) -> list[tuple[Any, ...]]:
    with ctx.db.connection() as conn:
        return conn.execute(sql, params).fetchall()


def study_state(ctx: Context, study_uid: str) -> tuple[str, str | None]:
    """The study's state and failure reason."""
    [(state, reason)] = rows(
        ctx, "SELECT state::text, failure_reason FROM studies WHERE study_uid = %s", study_uid
    )
    return state, reason
