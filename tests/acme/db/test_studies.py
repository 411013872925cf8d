"""transition_study: one atomic statement, exactly one winner."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from acme.db import Pool, StudyState, apply_migrations, make_pool, transition_study
from acme.errors import DatabaseError
from acme.settings import Settings

STUDY = "1.2.826.0.1.3680043.8.498.1"


@pytest.fixture
def pool(settings: Settings) -> Iterator[Pool]:
    with make_pool(settings) as opened:
        apply_migrations(opened)
        with opened.connection() as conn:
            conn.execute("INSERT INTO studies (study_uid) VALUES (%s)", (STUDY,))
        yield opened


def _state(pool: Pool) -> tuple[object, ...] | None:
    with pool.connection() as conn:
        return conn.execute(
            "SELECT state::text, failure_reason FROM studies WHERE study_uid = %s", (STUDY,)
        ).fetchone()


def _updated_at(pool: Pool) -> object:
    with pool.connection() as conn:
        row = conn.execute("SELECT updated_at FROM studies WHERE study_uid = %s", (STUDY,))
        return row.fetchone()


def test_transition_moves_only_from_the_given_states(pool: Pool) -> None:
    before = _updated_at(pool)
    with pool.connection() as conn:
        assert transition_study(conn, STUDY, [StudyState.RECEIVING], StudyState.COMPLETE)
    assert _updated_at(pool) != before
    with pool.connection() as conn:
        assert not transition_study(conn, STUDY, ["receiving"], "complete")
        assert transition_study(conn, STUDY, ["complete", "inferring"], "inferring")
    assert _state(pool) == ("inferring", None)


def test_failed_keeps_its_reason_and_a_retry_clears_it(pool: Pool) -> None:
    with pool.connection() as conn:
        assert transition_study(conn, STUDY, ["receiving"], "failed", reason="no_pipeline")
    assert _state(pool) == ("failed", "no_pipeline")
    with pool.connection() as conn:
        assert transition_study(conn, STUDY, ["failed"], "complete")
    assert _state(pool) == ("complete", None)


def test_unknown_study_does_not_move(pool: Pool) -> None:
    with pool.connection() as conn:
        assert not transition_study(conn, "1.2.3", ["receiving"], "complete")


@pytest.mark.parametrize(
    ("from_states", "to_state", "reason", "message"),
    [
        ([], "complete", None, "from_states is empty"),
        (["receiving"], "done", None, "to_state 'done' is not a study state"),
        (["nope"], "complete", None, "from_states 'nope' is not a study state"),
        (["receiving"], "failed", None, "needs a reason"),
        (["receiving"], "complete", "why", "only kept for 'failed'"),
    ],
)
def test_bad_arguments_are_named(
    pool: Pool, from_states: list[str], to_state: str, reason: str | None, message: str
) -> None:
    with pool.connection() as conn, pytest.raises(DatabaseError, match=message):
        transition_study(conn, STUDY, from_states, to_state, reason)


def test_concurrent_callers_exactly_one_wins(settings: Settings, pool: Pool) -> None:
    contenders = settings.db_pool_max
    for round_number in range(3):
        study = f"{STUDY}.{round_number}"
        with pool.connection() as conn:
            conn.execute("INSERT INTO studies (study_uid) VALUES (%s)", (study,))
        barrier = threading.Barrier(contenders)

        def contend(study_uid: str = study, gate: threading.Barrier = barrier) -> bool:
            with pool.connection() as conn:
                gate.wait()
                return transition_study(conn, study_uid, ["receiving"], "complete")

        with ThreadPoolExecutor(contenders) as executor:
            wins = [
                future.result() for future in [executor.submit(contend) for _ in range(contenders)]
            ]

        assert sorted(wins) == [False] * (contenders - 1) + [True]
        with pool.connection() as conn:
            row = conn.execute("SELECT state::text FROM studies WHERE study_uid = %s", (study,))
            assert row.fetchone() == ("complete",)
