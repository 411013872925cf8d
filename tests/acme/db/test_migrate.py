"""apply_migrations: idempotent, checksum-guarded, safe when processes start together."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from importlib import resources
from pathlib import Path

import psycopg
import pytest

from acme.db import Pool, apply_migrations, load_migrations, make_pool
from acme.errors import DatabaseError
from acme.settings import Settings

_SCHEMA_QUERIES = (
    """SELECT table_name, column_name, data_type, udt_name, is_nullable, column_default
       FROM information_schema.columns WHERE table_schema = 'public' ORDER BY 1, 2""",
    """SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid)
       FROM pg_constraint WHERE connamespace = 'public'::regnamespace ORDER BY 1, 2""",
    """SELECT tablename, indexname, indexdef FROM pg_indexes
       WHERE schemaname = 'public' ORDER BY 1, 2""",
    """SELECT tgrelid::regclass::text, tgname FROM pg_trigger
       WHERE NOT tgisinternal ORDER BY 1, 2""",
    """SELECT t.typname, array_agg(e.enumlabel ORDER BY e.enumsortorder)
       FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid GROUP BY 1 ORDER BY 1""",
    "SELECT name, checksum, applied_at FROM schema_migrations ORDER BY name",
)


@pytest.fixture
def pool(settings: Settings) -> Iterator[Pool]:
    with make_pool(settings) as opened:
        yield opened


def _schema(pool: Pool) -> list[list[tuple[object, ...]]]:
    with pool.connection() as conn:
        return [conn.execute(query).fetchall() for query in _SCHEMA_QUERIES]


def _copy_migrations(target: Path) -> Path:
    source = resources.files("acme.db") / "migrations"
    target.mkdir()
    for entry in source.iterdir():
        if entry.name.endswith(".sql"):
            (target / entry.name).write_bytes(entry.read_bytes())
    return target


def test_packaged_migrations_are_numbered() -> None:
    names = [migration.name for migration in load_migrations()]
    assert names[0] == "0001_initial_schema.sql"
    assert names == sorted(names)


def test_applying_twice_changes_nothing(pool: Pool) -> None:
    first = apply_migrations(pool)
    schema = _schema(pool)

    second = apply_migrations(pool)

    assert first == [migration.name for migration in load_migrations()]
    assert second == []
    assert _schema(pool) == schema
    tables = {row[0] for row in schema[0]}
    assert {
        "patients",
        "studies",
        "series",
        "instances",
        "inference_runs",
        "findings",
        "reports",
        "report_versions",
        "audit_events",
        "quarantine_entries",
        "schema_migrations",
    } <= tables


def test_changed_applied_migration_is_refused(pool: Pool, tmp_path: Path) -> None:
    folder = _copy_migrations(tmp_path / "migrations")
    apply_migrations(pool, directory=folder)
    first = folder / "0001_initial_schema.sql"
    first.write_bytes(first.read_bytes() + b"\n-- edited after release\n")

    with pytest.raises(DatabaseError, match=r"0001_initial_schema\.sql was changed after it was"):
        apply_migrations(pool, directory=folder)


def test_a_database_migrated_before_0001s_comment_was_edited_is_accepted(pool: Pool) -> None:
    apply_migrations(pool)
    with pool.connection() as conn:  # as a database migrated with the earlier file records it
        conn.execute(
            "UPDATE schema_migrations SET checksum = %s WHERE name = '0001_initial_schema.sql'",
            ("72368138756c54353335e2c9dad0bc25cfcc9db25d5d0cb64de26c28b66662e5",),
        )
    assert apply_migrations(pool) == []


def test_new_migration_is_applied_alone(pool: Pool, tmp_path: Path) -> None:
    folder = _copy_migrations(tmp_path / "migrations")
    apply_migrations(pool, directory=folder)
    (folder / "0999_extra.sql").write_text("CREATE TABLE extra (id integer);")

    assert apply_migrations(pool, directory=folder) == ["0999_extra.sql"]


def test_failing_migration_leaves_nothing_behind(pool: Pool, tmp_path: Path) -> None:
    folder = _copy_migrations(tmp_path / "migrations")
    (folder / "0999_broken.sql").write_text("CREATE TABLE ok (id integer); SELECT nonsense;")

    with pytest.raises(DatabaseError, match=r"migration 0999_broken\.sql failed"):
        apply_migrations(pool, directory=folder)

    with pool.connection() as conn:
        assert conn.execute("SELECT to_regclass('public.studies')").fetchone() == (None,)


def test_badly_named_migration_is_refused(tmp_path: Path) -> None:
    (tmp_path / "1_initial.sql").write_text("SELECT 1;")

    with pytest.raises(DatabaseError, match=r"'1_initial\.sql': expected a name like"):
        load_migrations(tmp_path)


def test_duplicate_number_is_refused(tmp_path: Path) -> None:
    (tmp_path / "0001_a.sql").write_text("SELECT 1;")
    (tmp_path / "0001_b.sql").write_text("SELECT 1;")

    with pytest.raises(DatabaseError, match="share number 0001"):
        load_migrations(tmp_path)


def test_processes_starting_together_apply_each_migration_once(settings: Settings) -> None:
    pools = [make_pool(settings) for _ in range(4)]
    barrier = threading.Barrier(len(pools))

    def start(pool: Pool) -> list[str]:
        barrier.wait()
        return apply_migrations(pool)

    try:
        with ThreadPoolExecutor(len(pools)) as executor:
            results = [future.result() for future in [executor.submit(start, p) for p in pools]]
    finally:
        for pool in pools:
            pool.close()

    applied = [name for result in results for name in result]
    assert applied == [migration.name for migration in load_migrations()]


def test_audit_events_are_append_only(pool: Pool) -> None:
    apply_migrations(pool)
    with pool.connection() as conn:
        conn.execute(
            "INSERT INTO audit_events (event_id, event_type, prev_hash, hash, payload) "
            "VALUES ('e1', 'org.acme.imaging.tick', %s, %s, '{}')",
            ("0" * 64, "a" * 64),
        )
    for statement in ("UPDATE audit_events SET payload = '{}'", "DELETE FROM audit_events"):
        with (
            pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"),
            pool.connection() as conn,
        ):
            conn.execute(statement)
    with pool.connection() as conn:
        assert conn.execute("SELECT count(*) FROM audit_events").fetchone() == (1,)


def test_failed_study_needs_a_reason(pool: Pool) -> None:
    apply_migrations(pool)
    with pytest.raises(psycopg.errors.CheckViolation), pool.connection() as conn:
        conn.execute("INSERT INTO studies (study_uid, state) VALUES ('1.2.3', 'failed')")
