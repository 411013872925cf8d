"""The PostgreSQL connection pool, opened only once the server has accepted a first login."""

from __future__ import annotations

import time
import weakref
from collections.abc import Mapping

import psycopg
from psycopg import conninfo, pq
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool, PoolTimeout

from acme.errors import ConfigError, DatabaseError
from acme.settings import Settings

Pool = ConnectionPool[psycopg.Connection[TupleRow]]
"""The pool type every database helper takes."""

SETTING = "ACME_DATABASE_URL"

# SQLSTATEs of a refused login (class 28) and a missing database; libpq does not always
# report them for connection failures, so the server's message is checked as well.
_AUTH_STATES = frozenset({"28P01", "28000"})
_AUTH_WORDS = ("password authentication failed", "authentication failed", "no password supplied")
_NO_DATABASE_STATE = "3D000"
_ATTEMPT_TIMEOUT = 5.0


def make_pool(settings: Settings, *, application_name: str = "acme") -> Pool:
    """An open pool for ``settings.database_url`` sized by ``db_pool_min``/``db_pool_max``.

    Waits up to ``settings.startup_timeout`` seconds for the server to answer. Raises
    :class:`ConfigError` naming ``ACME_DATABASE_URL`` whose message says whether the login
    was refused (wrong user or password), the database does not exist, or the server could
    not be reached; the password is never part of a message.
    """
    if not settings.database_url:
        raise ConfigError(SETTING, "no PostgreSQL URL is set (expected postgresql://...)")
    try:
        params = conninfo.conninfo_to_dict(settings.database_url)
    except psycopg.ProgrammingError as exc:
        raise ConfigError(SETTING, f"not a valid PostgreSQL URL: {exc}") from None
    url = conninfo.make_conninfo(settings.database_url, application_name=application_name)
    _wait_for_login(url, params, settings.startup_timeout)
    recent = RecentlyReturned()
    pool: Pool = ConnectionPool(
        url,
        min_size=settings.db_pool_min,
        max_size=settings.db_pool_max,
        open=False,
        check=recent.check,
        reset=recent.returned,
        name=application_name,
    )
    try:
        pool.open(wait=True, timeout=settings.startup_timeout)
    except PoolTimeout as exc:
        pool.close()
        raise DatabaseError(
            f"{SETTING}: the pool could not open {settings.db_pool_min} connection(s) to "
            f"{describe(params)} within {settings.startup_timeout:g}s"
        ) from exc
    return pool


class RecentlyReturned:
    """The pool's check of a connection it hands out: asks the server (one round trip) only
    of a connection that has been idle in the pool for ``fresh_for`` seconds or more.

    A connection under load is handed out again within milliseconds of its return: checking
    each time added a round trip to every query. One whose server went away since its
    return is found broken on its first statement, an ``OperationalError`` the callers
    treat as the outage it is (and the pool replaces the connection when it comes back).
    """

    def __init__(self, fresh_for: float = 1.0) -> None:
        self._fresh_for = fresh_for
        self._returned_at: weakref.WeakKeyDictionary[psycopg.Connection[TupleRow], float] = (
            weakref.WeakKeyDictionary()
        )

    def returned(self, conn: psycopg.Connection[TupleRow]) -> None:
        """The pool's ``reset`` callback: note when ``conn`` came back."""
        self._returned_at[conn] = time.monotonic()

    def check(self, conn: psycopg.Connection[TupleRow]) -> None:
        """The pool's ``check`` callback: raises when ``conn`` no longer works."""
        returned_at = self._returned_at.get(conn)
        if returned_at is not None and time.monotonic() - returned_at < self._fresh_for:
            if conn.pgconn.status != pq.ConnStatus.OK:
                raise psycopg.OperationalError("the connection was closed")
            return
        ConnectionPool.check_connection(conn)


def describe(params: Mapping[str, object]) -> str:
    """``user@host:port/dbname`` of a connection, without the password."""
    host = params.get("host") or params.get("hostaddr") or "localhost"
    return (
        f"{params.get('user', '')}@{host}:{params.get('port') or 5432}/{params.get('dbname', '')}"
    )


def _wait_for_login(url: str, params: Mapping[str, object], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    delay = 0.1
    while True:
        remaining = deadline - time.monotonic()
        try:
            attempt = max(2, round(min(remaining, _ATTEMPT_TIMEOUT)))
            with psycopg.connect(url, connect_timeout=attempt):
                return
        except psycopg.OperationalError as exc:
            refused = _login_refused(exc, params)
            if refused is not None:
                raise refused from None
            if time.monotonic() + delay >= deadline:
                raise ConfigError(
                    SETTING,
                    f"cannot reach PostgreSQL at {describe(params)} within {timeout:g}s "
                    f"(is the server running and the host and port right?): {_first_line(exc)}",
                ) from None
        time.sleep(delay)
        delay = min(delay * 2, 1.0)


def _login_refused(
    exc: psycopg.OperationalError, params: Mapping[str, object]
) -> ConfigError | None:
    """A ConfigError when the server answered but refused the login; None when unreachable."""
    message = str(exc)
    state = exc.sqlstate
    if state in _AUTH_STATES or any(word in message for word in _AUTH_WORDS):
        return ConfigError(
            SETTING,
            f"PostgreSQL at {describe(params)} refused the login: wrong user name or password "
            f"({_first_line(exc)})",
        )
    if state == _NO_DATABASE_STATE or ("database" in message and "does not exist" in message):
        return ConfigError(
            SETTING, f"PostgreSQL at {describe(params)}: the database does not exist"
        )
    return None


def _first_line(exc: Exception) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__
