"""The study's life cycle: its states, the steps that move it, and the one table of both.

A study is always in one :class:`StudyState`. It moves only by a :class:`Step`, as
:data:`TRANSITIONS` allows, through :func:`advance`: its conditional ``UPDATE`` is the one
statement in the code base that changes a study's state. Under READ COMMITTED a concurrent
updater waits for the row lock and re-checks the condition, so when replicas race for a step
exactly one of them moves the study. The change commits with the caller's transaction.

=================  =======================================================  =========
step               from                                                     to
=================  =======================================================  =========
series-reopened    complete, inferring, inferred, reported, signed, failed  receiving
series-completed   receiving                                                complete
inference-started  receiving, complete, inferred, reported, signed, failed  inferring
inference-done     complete, inferring, failed                              inferred
inference-failed   complete, inferring, inferred                            failed
report-drafted     inferred, failed                                         reported
report-signed      reported                                                 signed
report-amended     signed                                                   signed
=================  =======================================================  =========

A study is created ``receiving`` (its first instance). ``failed`` always carries a reason;
every other move clears it. A test keeps this table equal to :data:`TRANSITIONS`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Final

import psycopg
from psycopg.rows import TupleRow

from acme.errors import AcmeError, DatabaseError

__all__ = [
    "TRANSITIONS",
    "Step",
    "StudyConflict",
    "StudyState",
    "Transition",
    "advance",
    "allows",
    "conflict",
    "require",
    "transition_table",
]


class StudyState(StrEnum):
    """The ``study_state`` enum of the database."""

    RECEIVING = "receiving"
    COMPLETE = "complete"
    INFERRING = "inferring"
    INFERRED = "inferred"
    REPORTED = "reported"
    SIGNED = "signed"
    FAILED = "failed"


class Step(StrEnum):
    """Something that happened to a study and may move it."""

    SERIES_REOPENED = "series-reopened"
    SERIES_COMPLETED = "series-completed"
    INFERENCE_STARTED = "inference-started"
    INFERENCE_DONE = "inference-done"
    INFERENCE_FAILED = "inference-failed"
    REPORT_DRAFTED = "report-drafted"
    REPORT_SIGNED = "report-signed"
    REPORT_AMENDED = "report-amended"


@dataclass(frozen=True)
class Transition:
    """One row of the table: the states a step moves a study from, the state it moves it to,
    and what takes it."""

    sources: frozenset[StudyState]
    target: StudyState
    when: str


_S = StudyState
TRANSITIONS: Final[Mapping[Step, Transition]] = MappingProxyType(
    {
        Step.SERIES_REOPENED: Transition(
            frozenset({_S.COMPLETE, _S.INFERRING, _S.INFERRED, _S.REPORTED, _S.SIGNED, _S.FAILED}),
            _S.RECEIVING,
            "dicom-ingest: a late instance reopened a series routed to a model",
        ),
        Step.SERIES_COMPLETED: Transition(
            frozenset({_S.RECEIVING}),
            _S.COMPLETE,
            "dicom-ingest: the last open series of the study completed",
        ),
        Step.INFERENCE_STARTED: Transition(
            frozenset({_S.RECEIVING, _S.COMPLETE, _S.INFERRED, _S.REPORTED, _S.SIGNED, _S.FAILED}),
            _S.INFERRING,
            "an inference function claimed a run for a completed series",
        ),
        Step.INFERENCE_DONE: Transition(
            frozenset({_S.COMPLETE, _S.INFERRING, _S.FAILED}),
            _S.INFERRED,
            "every routed series has a completed run",
        ),
        Step.INFERENCE_FAILED: Transition(
            frozenset({_S.COMPLETE, _S.INFERRING, _S.INFERRED}),
            _S.FAILED,
            "the latest run of a routed series failed",
        ),
        Step.REPORT_DRAFTED: Transition(
            frozenset({_S.INFERRED, _S.FAILED}),
            _S.REPORTED,
            "report: a complete draft (every routed series has a result or a failure)",
        ),
        Step.REPORT_SIGNED: Transition(
            frozenset({_S.REPORTED}), _S.SIGNED, "report: a radiologist signed the draft"
        ),
        Step.REPORT_AMENDED: Transition(
            frozenset({_S.SIGNED}), _S.SIGNED, "report: a radiologist amended the signed report"
        ),
    }
)
"""Every allowed move, by step; nothing else moves a study."""

_WHY: Final[Mapping[StudyState, str]] = MappingProxyType(
    {
        _S.RECEIVING: "images are still arriving",
        _S.COMPLETE: "its series are complete and wait for inference",
        _S.INFERRING: "a routed series has no AI result yet",
        _S.INFERRED: "its report is not drafted yet",
        _S.REPORTED: "its report awaits signing",
        _S.SIGNED: "its report is signed",
        _S.FAILED: "inference failed",
    }
)


class StudyConflict(AcmeError):
    """The study is not in a state the step can move it from (an HTTP 409 for callers)."""

    def __init__(self, study_uid: str, state: StudyState | None, step: Step, reason: str | None):
        self.study_uid = study_uid
        self.state = state
        self.step = step
        if state is None:
            message = f"study {study_uid} is not indexed"
        else:
            why = reason if state is StudyState.FAILED and reason else _WHY[state]
            allowed = ", ".join(sorted(TRANSITIONS[step].sources))
            message = (
                f"study {study_uid} is {state} ({why}); {step} needs it to be one of: {allowed}"
            )
        super().__init__(message)


_ADVANCE = (
    "UPDATE studies SET state = %(target)s, failure_reason = %(reason)s"
    " WHERE study_uid = %(study_uid)s AND state = ANY(%(sources)s::study_state[])"
    " RETURNING study_uid"
)


def advance(
    conn: psycopg.Connection[TupleRow], study_uid: str, step: Step, *, reason: str | None = None
) -> bool:
    """Take ``step`` if the study is in one of its source states; True when this call moved it.

    A step to ``failed`` needs a ``reason`` (kept in ``failure_reason``); no other step takes
    one, and every other step clears the previous reason.
    """
    transition = TRANSITIONS[Step(step)]
    failing = transition.target is StudyState.FAILED
    if failing and not reason:
        raise DatabaseError(f"{step}: a move to 'failed' needs a reason")
    if not failing and reason is not None:
        raise DatabaseError(f"{step}: a reason is only kept for 'failed', not {transition.target}")
    params = {
        "target": transition.target.value,
        "reason": reason,
        "study_uid": study_uid,
        "sources": sorted(state.value for state in transition.sources),
    }
    try:
        row = conn.execute(_ADVANCE, params).fetchone()
    except psycopg.Error as exc:
        raise DatabaseError(f"{step} of study {study_uid} failed: {exc}") from exc
    return row is not None


def require(
    conn: psycopg.Connection[TupleRow], study_uid: str, step: Step, *, reason: str | None = None
) -> None:
    """Take ``step`` or raise :class:`StudyConflict` saying why the study cannot move."""
    if advance(conn, study_uid, step, reason=reason):
        return
    raise conflict(conn, study_uid, step)


def conflict(conn: psycopg.Connection[TupleRow], study_uid: str, step: Step) -> StudyConflict:
    """The :class:`StudyConflict` of ``step`` for the study as it is now."""
    row = conn.execute(
        "SELECT state::text, failure_reason FROM studies WHERE study_uid = %s", (study_uid,)
    ).fetchone()
    if row is None:
        return StudyConflict(study_uid, None, step, None)
    return StudyConflict(study_uid, StudyState(row[0]), step, row[1])


def allows(state: StudyState | str, step: Step) -> bool:
    """True when ``step`` moves a study that is in ``state``."""
    return StudyState(state) in TRANSITIONS[step].sources


def transition_table() -> str:
    """:data:`TRANSITIONS` as the reStructuredText table of this module's docstring."""
    rows = [
        (str(step), ", ".join(s.value for s in StudyState if s in t.sources), t.target.value)
        for step, t in TRANSITIONS.items()
    ]
    header = ("step", "from", "to")
    widths = [max(len(row[i]) for row in [*rows, header]) for i in range(3)]
    rule = "  ".join("=" * width for width in widths)

    def line(cells: tuple[str, str, str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    return "\n".join([rule, line(header), rule, *(line(row) for row in rows), rule])


if __name__ == "__main__":
    print(transition_table())
