"""Ordered SQL migrations, applied once each, checked by checksum, one process at a time."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable

import psycopg
import structlog
from psycopg.rows import TupleRow

from acme.db._pool import Pool
from acme.errors import DatabaseError

_NAME = re.compile(r"^(?P<number>\d{4})_[a-z0-9_]+\.sql$")

# pg_advisory_xact_lock key: the bytes "acmemigr" read as a signed 64-bit integer.
_LOCK_KEY = int.from_bytes(b"acmemigr", "big", signed=True)

_CREATE_TABLE = b"""
CREATE TABLE IF NOT EXISTS schema_migrations (
    name        text PRIMARY KEY,
    checksum    text NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now()
)
"""

_log = structlog.get_logger(__name__)

_EARLIER_CHECKSUMS: dict[str, frozenset[str]] = {
    # its first line's reference to the design document changed; the SQL is the same
    "0001_initial_schema.sql": frozenset(
        {"72368138756c54353335e2c9dad0bc25cfcc9db25d5d0cb64de26c28b66662e5"}
    ),
}
"""Checksums a migration had before an edit of its comments only: still accepted."""


@dataclass(frozen=True, slots=True)
class Migration:
    """One ``NNNN_name.sql`` file: its name, SQL text and SHA-256 checksum."""

    name: str
    sql: bytes

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql).hexdigest()


def load_migrations(directory: Traversable | None = None) -> list[Migration]:
    """The migrations in ``directory`` (default: the packaged ones) in number order.

    Every ``.sql`` file must be named ``NNNN_lower_case_name.sql`` with a unique number.
    """
    folder = directory if directory is not None else resources.files("acme.db") / "migrations"
    migrations: dict[str, Migration] = {}
    for entry in folder.iterdir():
        if not entry.name.endswith(".sql"):
            continue
        match = _NAME.match(entry.name)
        if match is None:
            raise DatabaseError(
                f"migration file {entry.name!r}: expected a name like 0001_initial_schema.sql"
            )
        number = match["number"]
        if number in migrations:
            raise DatabaseError(
                f"migration files {migrations[number].name!r} and {entry.name!r} share number "
                f"{number}"
            )
        migrations[number] = Migration(entry.name, entry.read_bytes())
    return [migrations[number] for number in sorted(migrations)]


def apply_migrations(pool: Pool, *, directory: Traversable | None = None) -> list[str]:
    """Apply the migrations not applied yet, in order; return their names.

    All pending migrations run in one transaction under a transaction-scoped advisory lock,
    so processes starting together apply each migration exactly once and a failure leaves
    the schema as it was. Raises :class:`DatabaseError` when an applied migration's file
    has changed since (its checksum differs) or a migration fails.
    """
    migrations = load_migrations(directory)
    try:
        with pool.connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
            conn.execute(_CREATE_TABLE)
            rows = conn.execute("SELECT name, checksum FROM schema_migrations").fetchall()
            applied = {str(name): str(checksum) for name, checksum in rows}
            pending = _pending(migrations, applied)
            for migration in pending:
                _apply(conn, migration)
    except psycopg.Error as exc:
        raise DatabaseError(f"applying migrations failed: {exc}") from exc
    names = [migration.name for migration in pending]
    if names:
        _log.info("migrations applied", migrations=names)
    return names


def _pending(migrations: list[Migration], applied: dict[str, str]) -> list[Migration]:
    for migration in migrations:
        recorded = applied.get(migration.name)
        earlier = _EARLIER_CHECKSUMS.get(migration.name, frozenset())
        if recorded is not None and recorded != migration.checksum and recorded not in earlier:
            raise DatabaseError(
                f"migration {migration.name} was changed after it was applied (checksum "
                f"{migration.checksum[:12]}..., applied {recorded[:12]}...); restore the file "
                "and add a new migration instead"
            )
    known = {migration.name for migration in migrations}
    unknown = sorted(set(applied) - known)
    if unknown:
        _log.warning("database has migrations this code does not know", migrations=unknown)
    return [migration for migration in migrations if migration.name not in applied]


def _apply(conn: psycopg.Connection[TupleRow], migration: Migration) -> None:
    try:
        conn.execute(migration.sql)
    except psycopg.Error as exc:
        raise DatabaseError(f"migration {migration.name} failed: {exc}") from exc
    conn.execute(
        "INSERT INTO schema_migrations (name, checksum) VALUES (%s, %s)",
        (migration.name, migration.checksum),
    )
