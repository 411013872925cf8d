"""Study states and the one atomic statement that moves a study between them."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

import psycopg
from psycopg import sql
from psycopg.rows import TupleRow

from acme.errors import DatabaseError


class StudyState(StrEnum):
    """The ``study_state`` enum of migration 0001 (DESIGN.md section 3)."""

    RECEIVING = "receiving"
    COMPLETE = "complete"
    INFERRING = "inferring"
    INFERRED = "inferred"
    REPORTED = "reported"
    SIGNED = "signed"
    FAILED = "failed"


_TRANSITION = sql.SQL(
    "UPDATE studies SET state = {to_state}, failure_reason = {reason} "
    "WHERE study_uid = {study_uid} AND state = ANY({from_states}) "
    "RETURNING study_uid"
).format(
    to_state=sql.Placeholder("to_state"),
    reason=sql.Placeholder("reason"),
    study_uid=sql.Placeholder("study_uid"),
    from_states=sql.SQL("{}::study_state[]").format(sql.Placeholder("from_states")),
)


def transition_study(
    conn: psycopg.Connection[TupleRow],
    study_uid: str,
    from_states: Iterable[StudyState | str],
    to_state: StudyState | str,
    reason: str | None = None,
) -> bool:
    """Move a study to ``to_state`` if it is in one of ``from_states``; True if this call did.

    One ``UPDATE ... WHERE state = ANY(...) RETURNING``: when replicas race for the same
    transition, the row lock makes the losers re-check the state, so exactly one wins. A
    move to ``failed`` needs a ``reason``; any other move clears the previous reason. The
    change is committed with the caller's transaction.
    """
    target = _state("to_state", to_state)
    sources = [_state("from_states", state) for state in from_states]
    if not sources:
        raise DatabaseError("transition_study: from_states is empty; expected at least one state")
    if target is StudyState.FAILED and not reason:
        raise DatabaseError("transition_study: a move to 'failed' needs a reason")
    if target is not StudyState.FAILED and reason is not None:
        raise DatabaseError(f"transition_study: a reason is only kept for 'failed', not {target}")
    source_values = [state.value for state in sources]
    params = {
        "to_state": target.value,
        "reason": reason,
        "study_uid": study_uid,
        "from_states": source_values,
    }
    try:
        row = conn.execute(_TRANSITION, params).fetchone()
    except psycopg.Error as exc:
        raise DatabaseError(
            f"transition_study {study_uid}: {'/'.join(source_values)} -> {target} failed: {exc}"
        ) from exc
    return row is not None


def _state(argument: str, value: StudyState | str) -> StudyState:
    try:
        return StudyState(value)
    except ValueError:
        expected = ", ".join(state.value for state in StudyState)
        raise DatabaseError(
            f"transition_study: {argument} {value!r} is not a study state (expected one of "
            f"{expected})"
        ) from None
