"""The trail in PostgreSQL: chained, idempotent, serialised, and tamper-evident."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg
import pytest
from cloudevents.http import CloudEvent
from psycopg import conninfo
from psycopg.types.json import Jsonb

from acme.audit import (
    GENESIS_HASH,
    Anchor,
    AuditRow,
    append_event,
    chain_hash,
    verify_trail,
)
from acme.db import make_pool
from acme.function import Context

Superuser = psycopg.Connection[Any]


def _fill(ctx: Context, make: Callable[..., CloudEvent], count: int) -> list[AuditRow]:
    rows = [append_event(ctx.db, make(request_id=f"req-{n}")) for n in range(count)]
    assert all(row is not None for row in rows)
    return [row for row in rows if row is not None]


def _behind_the_back(superuser: Superuser, statement: str, *params: object) -> None:
    """Run ``statement`` as the owner with the append-only triggers switched off."""
    with superuser.transaction():
        superuser.execute("SET LOCAL session_replication_role = replica")
        superuser.execute(statement, params)  # type: ignore[arg-type]


def test_rows_are_chained_from_genesis_and_recorded_once(
    ctx: Context, access_event: Callable[..., CloudEvent]
) -> None:
    first, second, third = _fill(ctx, access_event, 3)
    assert [first.id, second.id, third.id] == [1, 2, 3]
    assert first.prev_hash == GENESIS_HASH
    assert second.prev_hash == first.hash and third.prev_hash == second.hash
    assert third.hash == chain_hash(second.hash, third.content())
    duplicate = CloudEvent(first.payload | {"data": first.data})
    assert append_event(ctx.db, duplicate) is None  # redelivered: nothing new
    result = verify_trail(ctx.db)
    assert result.intact and result.rows == 3
    assert (result.head_id, result.head_hash) == (3, third.hash)
    assert result.summary() == f"audit trail intact: 3 rows, head 3:{third.hash}"


def test_concurrent_replicas_never_fork_the_chain(
    ctx: Context, access_event: Callable[..., CloudEvent]
) -> None:
    replicas = [make_pool(ctx.settings, application_name=f"audit-{n}") for n in range(2)]
    events = [access_event(request_id=f"r{n}") for n in range(120)]
    barrier = threading.Barrier(8)

    def append(index: int) -> None:
        barrier.wait()
        for event in events[index::8]:
            append_event(replicas[index % 2], event)
            append_event(replicas[(index + 1) % 2], event)  # and a redelivery elsewhere

    try:
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(append, range(8)))
    finally:
        for replica in replicas:
            replica.close()
    result = verify_trail(ctx.db)
    assert result.intact and result.rows == 120 and result.head_id == 120


def test_an_update_behind_the_applications_back_is_named(
    ctx: Context, access_event: Callable[..., CloudEvent], superuser: Superuser
) -> None:
    _fill(ctx, access_event, 5)
    _behind_the_back(
        superuser,
        "UPDATE audit_events SET payload = jsonb_set(payload, '{data,actor}', '\"nobody\"')"
        " WHERE id = 3",
    )
    result = verify_trail(ctx.db)
    assert not result.intact and result.broken is not None
    assert (result.broken.id, result.broken.problem) == (3, "altered")
    assert "changed after it was written" in result.broken.detail
    assert result.summary().startswith("audit trail broken at row 3: its content no longer")


def test_a_trigger_disabled_update_of_a_column_is_named(
    ctx: Context, access_event: Callable[..., CloudEvent], superuser: Superuser
) -> None:
    _fill(ctx, access_event, 4)
    superuser.execute("ALTER TABLE audit_events DISABLE TRIGGER USER")
    superuser.execute("UPDATE audit_events SET actor = 'someone-else' WHERE id = 2")
    superuser.execute("ALTER TABLE audit_events ENABLE TRIGGER USER")
    broken = verify_trail(ctx.db).broken
    assert broken is not None and (broken.id, broken.problem) == (2, "altered")


def test_a_deleted_row_is_named(
    ctx: Context, access_event: Callable[..., CloudEvent], superuser: Superuser
) -> None:
    _fill(ctx, access_event, 5)
    _behind_the_back(superuser, "DELETE FROM audit_events WHERE id IN (2, 3)")
    broken = verify_trail(ctx.db).broken
    assert broken is not None and (broken.id, broken.problem) == (2, "missing")
    assert broken.detail == "row(s) 2-3 are missing (deleted): row 4 follows row 1"
    _behind_the_back(superuser, "DELETE FROM audit_events WHERE id = 1")
    broken = verify_trail(ctx.db).broken
    assert broken is not None and broken.id == 1
    assert "row 4 follows the start of the trail" in broken.detail


def test_a_row_rewritten_with_a_recomputed_hash_breaks_the_next_link(
    ctx: Context, access_event: Callable[..., CloudEvent], superuser: Superuser
) -> None:
    rows = _fill(ctx, access_event, 3)
    forged = AuditRow(**{**rows[1].__dict__, "actor": "someone-else"})
    new_hash = forged.recomputed_hash()
    _behind_the_back(
        superuser, "UPDATE audit_events SET actor = %s, hash = %s WHERE id = 2",
        "someone-else", new_hash,
    )  # fmt: skip
    broken = verify_trail(ctx.db).broken
    assert broken is not None and (broken.id, broken.problem) == (3, "relinked")
    assert "row 2 was rewritten with a recomputed hash" in broken.detail


def test_removing_the_newest_rows_shows_against_a_recorded_head(
    ctx: Context, access_event: Callable[..., CloudEvent], superuser: Superuser
) -> None:
    rows = _fill(ctx, access_event, 4)
    head = Anchor.parse(f"4:{rows[-1].hash}")
    assert verify_trail(ctx.db, anchor=head).intact
    _behind_the_back(superuser, "DELETE FROM audit_events WHERE id >= 3")
    assert verify_trail(ctx.db).intact  # a shorter chain is whole: only the head shows it
    broken = verify_trail(ctx.db, anchor=head).broken
    assert broken is not None and (broken.id, broken.problem) == (3, "missing")
    assert "the recorded head is row 4, the trail ends at row 2" in broken.detail
    with pytest.raises(ValueError, match="expected ID:HASH"):
        Anchor.parse("4:xyz")


def test_the_application_roles_cannot_change_the_trail(
    ctx: Context, access_event: Callable[..., CloudEvent], superuser: Superuser
) -> None:
    _fill(ctx, access_event, 2)
    superuser.execute("ALTER TABLE audit_events DISABLE TRIGGER USER")  # privileges alone
    attempts = {
        "acme_audit_writer": [
            "UPDATE audit_events SET actor = 'x'",
            "DELETE FROM audit_events",
            "TRUNCATE audit_events",
        ],
        "acme_audit_reader": [
            "UPDATE audit_events SET actor = 'x'",
            "DELETE FROM audit_events",
            "INSERT INTO audit_events (event_id, event_type, prev_hash, hash, payload)"
            " VALUES ('e', 't', repeat('0', 64), repeat('1', 64), '{}')",
        ],
    }
    for role, statements in attempts.items():
        for statement in statements:
            with (
                pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied"),
                superuser.transaction(),
            ):
                superuser.execute(f"SET LOCAL ROLE {role}")
                superuser.execute(statement)  # type: ignore[arg-type]
    superuser.execute("ALTER TABLE audit_events ENABLE TRIGGER USER")
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
        superuser.execute("DELETE FROM audit_events")  # the owner meets the trigger
    assert verify_trail(ctx.db).rows == 2


def test_the_database_refuses_a_row_that_does_not_extend_the_chain(
    ctx: Context, access_event: Callable[..., CloudEvent], superuser: Superuser
) -> None:
    _fill(ctx, access_event, 2)
    statement = (
        "INSERT INTO audit_events (id, event_id, event_type, prev_hash, hash, payload)"
        " VALUES (%s, 'fork', 't', %s, repeat('2', 64), %s)"
    )
    for row_id, prev_hash in ((2, GENESIS_HASH), (3, GENESIS_HASH), (5, GENESIS_HASH)):
        with pytest.raises(psycopg.errors.IntegrityConstraintViolation, match="audit_events"):
            superuser.execute(statement, (row_id, prev_hash, Jsonb({})))
    assert verify_trail(ctx.db).intact


def test_a_dedicated_login_in_the_writer_role_appends_and_verifies_only(
    ctx: Context, access_event: Callable[..., CloudEvent], superuser: Superuser
) -> None:
    """How a deployment gives the audit functions no other credential (decision 0051)."""
    login = f"audit_fn_{uuid.uuid4().hex[:8]}"
    superuser.execute(f"CREATE ROLE {login} LOGIN PASSWORD 'pw' IN ROLE acme_audit_writer")
    params = conninfo.conninfo_to_dict(ctx.settings.database_url or "")
    url = conninfo.make_conninfo(**{**params, "user": login, "password": "pw"})
    pool = make_pool(ctx.settings.model_copy(update={"database_url": url}))
    try:
        assert append_event(pool, access_event()) is not None
        assert verify_trail(pool).intact
        with pool.connection() as conn:
            for statement in ("UPDATE audit_events SET actor = 'x'", "DELETE FROM audit_events"):
                with (
                    pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied"),
                    conn.transaction(),
                ):
                    conn.execute(statement)  # type: ignore[arg-type]
    finally:
        pool.close()
        superuser.execute(f"DROP OWNED BY {login}")
        superuser.execute(f"DROP ROLE {login}")
