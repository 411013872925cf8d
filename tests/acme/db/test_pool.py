"""make_pool against the real PostgreSQL of the test stack."""

from __future__ import annotations

import socket
import time
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

import acme.db
from acme.db import make_pool
from acme.db._pool import RecentlyReturned
from acme.errors import ConfigError
from acme.settings import Settings


def _with_netloc(url: str, *, password: str | None = None, port: int | None = None) -> str:
    parts = urlsplit(url)
    user = parts.username or ""
    secret = password if password is not None else (parts.password or "")
    host = f"{parts.hostname}:{port if port is not None else parts.port}"
    return urlunsplit(parts._replace(netloc=f"{user}:{secret}@{host}"))


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_pool_opens_and_answers(settings: Settings) -> None:
    with make_pool(settings, application_name="acme-test") as pool, pool.connection() as conn:
        row = conn.execute("SELECT current_setting('application_name'), 1 + 1").fetchone()
    assert row == ("acme-test", 2)


def test_wrong_password_is_a_login_error(settings: Settings) -> None:
    assert settings.database_url is not None
    wrong = settings.model_copy(
        update={"database_url": _with_netloc(settings.database_url, password="not-it")}
    )

    with pytest.raises(ConfigError) as caught:
        make_pool(wrong)

    message = str(caught.value)
    assert caught.value.setting == "ACME_DATABASE_URL"
    assert message.startswith("ACME_DATABASE_URL: ")
    assert "refused the login: wrong user name or password" in message
    assert "cannot reach" not in message
    assert "not-it" not in message


def test_unreachable_host_is_a_reachability_error(settings: Settings) -> None:
    assert settings.database_url is not None
    url = _with_netloc(settings.database_url, port=_closed_port())
    unreachable = settings.model_copy(update={"database_url": url, "startup_timeout": 1.0})

    with pytest.raises(ConfigError) as caught:
        make_pool(unreachable)

    message = str(caught.value)
    assert caught.value.setting == "ACME_DATABASE_URL"
    assert "cannot reach PostgreSQL at" in message
    assert "wrong user name or password" not in message
    password = urlsplit(settings.database_url).password
    assert password
    assert password not in message


def test_missing_database_is_named(settings: Settings) -> None:
    assert settings.database_url is not None
    url = settings.database_url.rsplit("/", 1)[0] + "/no_such_database"

    with pytest.raises(ConfigError, match=r"ACME_DATABASE_URL: .* the database does not exist"):
        make_pool(settings.model_copy(update={"database_url": url}))


def test_missing_url_names_the_setting(settings: Settings) -> None:
    with pytest.raises(ConfigError, match="ACME_DATABASE_URL"):
        make_pool(settings.model_copy(update={"database_url": None}))


def test_public_names() -> None:
    assert sorted(acme.db.__all__) == [
        "Migration",
        "Pool",
        "apply_migrations",
        "load_migrations",
        "make_pool",
    ]


def _terminate(settings: Settings, backend_pid: int) -> None:
    assert settings.database_url is not None
    with psycopg.connect(settings.database_url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (backend_pid,))


def test_a_connection_idle_in_the_pool_is_checked_and_replaced_when_its_server_left(
    settings: Settings,
) -> None:
    with make_pool(settings, application_name="acme-test") as pool:
        with pool.connection() as conn:
            first = conn.info.backend_pid
        _terminate(settings, first)
        time.sleep(1.1)  # idle past the fresh period: asked before it is handed out
        with pool.connection() as conn:
            row = conn.execute("SELECT pg_backend_pid()").fetchone()
    assert row is not None and row[0] != first


def test_a_connection_just_returned_is_handed_out_without_a_round_trip(
    settings: Settings,
) -> None:
    assert settings.database_url is not None
    recent = RecentlyReturned(fresh_for=60.0)
    with psycopg.connect(settings.database_url) as conn:
        recent.returned(conn)
        _terminate(settings, conn.info.backend_pid)
        recent.check(conn)  # not asked: the server's going is found by the next statement
        with pytest.raises(psycopg.OperationalError):
            conn.execute("SELECT 1")
        with pytest.raises(psycopg.OperationalError):
            recent.check(conn)  # known closed now: refused without asking
    with psycopg.connect(settings.database_url) as idle:
        _terminate(settings, idle.info.backend_pid)
        with pytest.raises(psycopg.OperationalError):
            recent.check(idle)  # never returned: asked
