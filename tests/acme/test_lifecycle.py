"""The study's life cycle: the one table, walked step by step on a real database."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import acme.lifecycle
from acme.db import Pool, apply_migrations, make_pool
from acme.errors import DatabaseError
from acme.lifecycle import (
    TRANSITIONS,
    Step,
    StudyConflict,
    StudyState,
    advance,
    allows,
    require,
    transition_table,
)
from acme.settings import Settings

STUDY = "1.2.826.0.1.3680043.8.498.1"
REPO = Path(__file__).resolve().parents[2]
REASON = "inference failed: decode-failed"


@pytest.fixture
def pool(settings: Settings) -> Iterator[Pool]:
    with make_pool(settings) as opened:
        apply_migrations(opened)
        yield opened


def _study(pool: Pool, uid: str, state: StudyState) -> None:
    """A study created in ``state`` (a fixture: rows are created, never moved, here)."""
    reason = REASON if state is StudyState.FAILED else None
    with pool.connection() as conn:
        conn.execute(
            "INSERT INTO studies (study_uid, state, failure_reason) VALUES (%s, %s, %s)",
            (uid, state.value, reason),
        )


def _state(pool: Pool, uid: str) -> tuple[str, str | None]:
    with pool.connection() as conn:
        row = conn.execute(
            "SELECT state::text, failure_reason FROM studies WHERE study_uid = %s", (uid,)
        ).fetchone()
    assert row is not None
    return row[0], row[1]


def test_every_step_from_every_state_moves_exactly_as_the_table_says(pool: Pool) -> None:
    for s, step in enumerate(Step):
        transition = TRANSITIONS[step]
        for t, state in enumerate(StudyState):
            uid = f"{STUDY}.{s}.{t}"
            _study(pool, uid, state)
            reason = REASON if transition.target is StudyState.FAILED else None
            with pool.connection() as conn:
                moved = advance(conn, uid, step, reason=reason)
            expected = state in transition.sources
            assert moved is expected is allows(state, step), (step, state)
            after = transition.target if expected else state
            kept = REASON if after is StudyState.FAILED else None
            assert _state(pool, uid) == (after.value, kept), (step, state)


def test_every_state_is_reachable_from_receiving_and_every_state_can_move_on() -> None:
    reached = {StudyState.RECEIVING}
    frontier = [StudyState.RECEIVING]
    while frontier:
        state = frontier.pop()
        for transition in TRANSITIONS.values():
            if state in transition.sources and transition.target not in reached:
                reached.add(transition.target)
                frontier.append(transition.target)
    assert reached == set(StudyState)
    for state in StudyState:
        assert any(state in t.sources for t in TRANSITIONS.values()), state
    assert set(TRANSITIONS) == set(Step)


def test_the_module_documents_the_table_it_enforces() -> None:
    assert acme.lifecycle.__doc__ is not None
    assert transition_table() in acme.lifecycle.__doc__


def test_failed_keeps_its_reason_and_leaving_it_clears_the_reason(pool: Pool) -> None:
    _study(pool, STUDY, StudyState.INFERRING)
    with pool.connection() as conn:
        assert advance(conn, STUDY, Step.INFERENCE_FAILED, reason=REASON)
    assert _state(pool, STUDY) == ("failed", REASON)
    with pool.connection() as conn:
        assert advance(conn, STUDY, Step.INFERENCE_STARTED)
    assert _state(pool, STUDY) == ("inferring", None)


@pytest.mark.parametrize(
    ("step", "reason", "message"),
    [
        (Step.INFERENCE_FAILED, None, "inference-failed: a move to 'failed' needs a reason"),
        (Step.INFERENCE_DONE, "why", "a reason is only kept for 'failed', not inferred"),
    ],
)
def test_a_reason_goes_only_with_failed(
    pool: Pool, step: Step, reason: str | None, message: str
) -> None:
    _study(pool, STUDY, StudyState.INFERRING)
    with pool.connection() as conn, pytest.raises(DatabaseError, match=message):
        advance(conn, STUDY, step, reason=reason)


def test_a_refused_step_says_where_the_study_is_and_what_the_step_needs(pool: Pool) -> None:
    _study(pool, STUDY, StudyState.FAILED)
    with pool.connection() as conn, pytest.raises(StudyConflict) as refused:
        require(conn, STUDY, Step.REPORT_SIGNED)
    assert str(refused.value) == (
        f"study {STUDY} is failed ({REASON}); report-signed needs it to be one of: reported"
    )
    assert (refused.value.state, refused.value.step) == (StudyState.FAILED, Step.REPORT_SIGNED)
    with pool.connection() as conn, pytest.raises(StudyConflict, match="is not indexed"):
        require(conn, "1.2.3", Step.REPORT_SIGNED)
    _study(pool, f"{STUDY}.2", StudyState.INFERRING)
    with pool.connection() as conn, pytest.raises(StudyConflict, match="has no AI result yet"):
        require(conn, f"{STUDY}.2", Step.REPORT_SIGNED)


def test_concurrent_callers_exactly_one_wins(settings: Settings, pool: Pool) -> None:
    contenders = settings.db_pool_max
    for round_number in range(3):
        study = f"{STUDY}.{round_number}"
        _study(pool, study, StudyState.RECEIVING)
        barrier = threading.Barrier(contenders)

        def contend(study_uid: str = study, gate: threading.Barrier = barrier) -> bool:
            with pool.connection() as conn:
                gate.wait()
                return advance(conn, study_uid, Step.SERIES_COMPLETED)

        with ThreadPoolExecutor(contenders) as executor:
            wins = [f.result() for f in [executor.submit(contend) for _ in range(contenders)]]
        assert sorted(wins) == [False] * (contenders - 1) + [True]
        assert _state(pool, study) == ("complete", None)


_STATE_UPDATE = re.compile(r"UPDATE\s+studies\s+SET\s+(?:[^;\"']*,\s*)?state\s*=", re.I)


def test_no_code_outside_the_life_cycle_module_sets_a_study_state() -> None:
    offenders = []
    for folder in ("acme", "functions"):
        for path in sorted((REPO / folder).rglob("*.py")):
            if path == REPO / "acme" / "lifecycle.py":
                continue
            text = path.read_text()
            offenders += [f"{path.relative_to(REPO)}" for _ in _STATE_UPDATE.finditer(text)]
    assert offenders == []
    lifecycle = (REPO / "acme" / "lifecycle.py").read_text()
    assert len(_STATE_UPDATE.findall(lifecycle)) == 1
